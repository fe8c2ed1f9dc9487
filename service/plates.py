"""Plates in the service: the pipeline's read as ingested, and reviewers' corrections of it.

The machine read stays as the pipeline wrote it (``Case.plate``); a correction is a separate row,
so the record shows both what the OCR read and what a person decided, and who, when and why.
The format rules are the detector's own (``plate_format``), so no OCR model is loaded here.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from detector.evidence.plate_format import format_ok, normalise
from service.models import Case

PLATE_FIELDS = ("text", "confidence", "format_ok", "kind", "frames_read", "t")
VEHICLE_CLASSES = frozenset({"car", "truck", "bus", "motorcycle", "vehicle", "van"})


def machine_plate(value: Any) -> dict[str, Any] | None:
    """The ``plate`` object of a case record, reduced to its known fields; None when absent (old
    run folders, non-vehicle cases) or not a plate object."""
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    return {k: value.get(k) for k in PLATE_FIELDS}


def check_correction(text: str, allow_invalid_format: bool) -> tuple[str, bool, str | None]:
    """(normalised text, format_ok, problem or None) for a reviewer's plate text.

    NFKC first: a Chinese input method in full-width mode types ``京Ａ１２３４５``, which is the
    plate 京A12345. What is left must be letters and digits, the flag for unusual formats
    notwithstanding: no plate carries control or invisible characters (a right-to-left override
    reorders how the record reads), symbols, emoji or combining marks."""
    plate = normalise(unicodedata.normalize("NFKC", text))
    if not plate:
        return plate, False, "text: empty"
    if len(plate) > 32:
        return plate, False, "text: longer than any plate"
    odd = [ch for ch in plate if not ch.isalnum()]
    if odd:
        names = ", ".join(dict.fromkeys(f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}" for ch in odd))
        return plate, False, f"text: a plate has letters and digits only, not {names}"
    ok = format_ok(plate)
    if not ok and not allow_invalid_format:
        return plate, ok, (f"text: {plate!r} is not a Chinese plate (province + letter + 5 characters, "
                           "new-energy 6); send allow_invalid_format to keep it anyway")
    return plate, ok, None


def plate_view(case: Case) -> dict[str, Any] | None:
    """``plate`` in the case API: the machine read, the correction in force, and the text that
    counts (the correction when there is one). None when there is neither."""
    read = case.plate
    fixes = case.plate_corrections
    if read is None and not fixes:
        return None
    last = fixes[-1] if fixes else None
    correction = None if last is None else {
        "text": last.text, "format_ok": last.format_ok, "reason": last.reason, "reviewer": last.reviewer,
        "at": last.created_at.isoformat(), "corrections": len(fixes)}
    return {"read": read, "correction": correction,
            "text": last.text if last else (read or {}).get("text"),
            "format_ok": last.format_ok if last else bool((read or {}).get("format_ok"))}
