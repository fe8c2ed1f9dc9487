"""Check that each case's ``clip.mp4`` still holds the source packets recorded when it was cut.

``civicwatch verify DIR --source VIDEO`` calls this: for every stream-copied clip it demuxes the
recorded packet range from the source again and compares it with the clip, NAL unit by NAL unit
(``detector.media.streamcopy.verify_copy``). Transcoded clips (the source could not be played by
a browser) are named as such: they are evidence made from the source, not a copy of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from detector.media.streamcopy import PacketRange, verify_copy


@dataclass
class OriginalsReport:
    copied: int = 0  # clips checked against the source packet by packet
    transcoded: int = 0  # clips made by re-encoding (nothing to compare byte for byte)
    problems: list[str] = field(default_factory=list)


def _cases(out_dir: Path) -> list[dict]:
    try:
        cases = json.loads((out_dir / "cases.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [c for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []


def verify_originals(out_dir: Path, source: Path | None) -> OriginalsReport:
    """Compare every stream-copied clip of the run in ``out_dir`` with ``source`` (or, without a
    source, with the packet hash recorded in its case)."""
    report = OriginalsReport()
    for case in _cases(Path(out_dir)):
        original = case.get("original") or {}
        rel = (case.get("evidence") or {}).get("clip")
        if not rel:
            continue
        if original.get("method") != "stream_copy" or not original.get("packets"):
            report.transcoded += 1
            continue
        clip = Path(out_dir) / rel
        if not clip.is_file():
            continue  # reported as missing by the manifest check
        try:
            packets = PacketRange.from_dict(original["packets"])
        except (KeyError, TypeError):
            report.problems.append(f"{rel}: malformed packet record in its case")
            continue
        report.copied += 1
        report.problems.extend(f"{rel}: {p.split(': ', 1)[-1]}" for p in verify_copy(clip, source, packets))
    return report
