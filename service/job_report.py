"""The analysis report a job carries for the operator in the field: warnings with stable codes.

The pipeline writes its warnings as English sentences (``analysis.json``); the job page shows
them in the page's language, so each known kind gets a code the page translates, and the
sentence itself (with its numbers) stays available as the detail.
"""

from __future__ import annotations

from typing import Any

# (code, how the pipeline's sentence begins), see detector.pipeline.analyze
WARNING_KINDS = (
    ("drone_unregistered", "drone frames could not be registered"),
    ("damaged", "the video is damaged or truncated"),
    ("truncated", "the video ends at"),
    ("no_frames", "no frame could be decoded"),
    ("no_clock", "no wall-clock time is known"),
)


def warning_code(text: str) -> str:
    for code, start in WARNING_KINDS:
        if text.startswith(start):
            return code
    return "other"


def warning_items(warnings: list[Any] | None) -> list[dict[str, str]]:
    return [{"code": warning_code(str(w)), "text": str(w)} for w in warnings or []]
