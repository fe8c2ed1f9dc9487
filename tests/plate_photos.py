"""Real CCPD photos of Chinese plates (``../shared/footage-more/plates-ccpd``), and a parked car
"filmed" from one of them: the evidence, plate and page tests that need a readable plate share it."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import pytest

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
    import av
    import cv2

    image = cv2.imread(str(photo))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
