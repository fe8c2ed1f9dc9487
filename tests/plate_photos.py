"""Real CCPD photos of Chinese plates (``../shared/footage-more/plates-ccpd``), and a parked car
"filmed" from one of them: the evidence, plate and page tests that need a readable plate share it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from still_clips import still_clip

CCPD = Path(__file__).resolve().parents[1].parent / "shared" / "footage-more" / "plates-ccpd"
PHOTO_PLATE = "皖A0N718"  # a sharp, daylight plate: every reader test expects it read whole


def labels() -> list[dict]:
    """The rows of labels.csv (file, plate, bbox_x1..y2), one a photo."""
    if not (CCPD / "labels.csv").is_file():
        pytest.fail(f"CCPD plate photos missing: {CCPD} (../shared must sit beside the checkout)")
    with open(CCPD / "labels.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def photo_row(plate: str = PHOTO_PLATE) -> dict:
    """The row of the photo showing ``plate``."""
    return next(r for r in labels() if r["plate"] == plate)


def still_video(photo: Path, path: Path, seconds: float = 2.0, fps: int = 15) -> None:
    """A parked car filmed by a still camera: the photo repeated as real H.264."""
    import cv2

    still_clip(cv2.imread(str(photo)), path, int(seconds * fps), fps)
