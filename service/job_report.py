"""The analysis report a job carries for the operator in the field: warnings with stable codes.

The pipeline writes its warnings as English sentences (``analysis.json``); the job page shows
them in the page's language, so each known kind gets a code the page translates, and the
sentence itself (with its numbers) stays available as the detail.
"""

from __future__ import annotations

import re
from typing import Any

# (code, how the pipeline's sentence begins), see detector.pipeline.analyze
WARNING_KINDS = (
    ("drone_unregistered", "drone frames could not be registered"),
    ("damaged", "the video is damaged or truncated"),
    ("truncated", "the video ends at"),
    ("no_frames", "no frame could be decoded"),
    ("size_changed", "the picture size changes during the video"),
    ("no_clock", "no wall-clock time is known"),
    # not the pipeline's: the service's, on a run it accepted unsigned (service.run_trust)
    ("unsigned_run", "the run's manifest is not signed"),
)


def warning_code(text: str) -> str:
    for code, start in WARNING_KINDS:
        if text.startswith(start):
            return code
    return "other"


# The numbers a warning's sentence carries, for the page to say them in its language: the share
# of a flight that gave no cases decides whether the operator should act (a few blurred frames,
# or the wrong camera / reference frame), and the sentence alone sat only in a hover title.
WARNING_PARAMS = {
    "drone_unregistered": re.compile(r"registered: (?P<unregistered>\d+) of (?P<frames>\d+) analysis frames"),
    "truncated": re.compile(r"ends at (?P<end_s>[\d.]+) s but its container says (?P<said_s>[\d.]+) s"),
}


# The periods nothing was judged in a drone flight (``detector.register.unregistered_warning``):
# when and how long, so the operator can tell a few blurred frames from the minute that mattered.
LOSS = re.compile(r"(?P<from_s>[\d.]+)-(?P<to_s>[\d.]+) s \((?P<frames>\d+) frames\)")
MORE_LOSSES = re.compile(r" and (?P<more>\d+) more$")


def warning_params(code: str, text: str) -> dict[str, Any]:
    pattern = WARNING_PARAMS.get(code)
    found = pattern.search(text) if pattern else None
    if not found:
        return {}
    params: dict[str, Any] = {k: (int(v) if v.isdigit() else float(v)) for k, v in found.groupdict().items()}
    if code == "drone_unregistered" and "; nothing was judged " in text:
        listed = text.split("; nothing was judged ", 1)[1]
        params["losses"] = [{"from_s": float(m["from_s"]), "to_s": float(m["to_s"]), "frames": int(m["frames"])}
                            for m in LOSS.finditer(listed)]
        more = MORE_LOSSES.search(listed)
        if more:
            params["more_losses"] = int(more["more"])
    return params


def warning_items(warnings: list[Any] | None) -> list[dict[str, Any]]:
    items = []
    for w in warnings or []:
        code = warning_code(str(w))
        items.append({"code": code, "text": str(w), "params": warning_params(code, str(w))})
    return items
