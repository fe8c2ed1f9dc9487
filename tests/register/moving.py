"""Real fixed-camera footage made to move as a drone's would: every frame warped by a known
homography (original px -> moving px) and encoded as H.264, for registration tests with a truth."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from detector.media.encode import H264Writer


def write_moved(source: Path, out: Path, motion: Callable[[int, int], np.ndarray],
                first_frame: Path | None = None) -> int:
    """Write ``source`` with frame ``n`` of ``total`` warped by ``motion(n, total)``; the original
    first frame also to ``first_frame`` (the place seen from above, as registered). Returns the
    number of frames written."""
    cap = cv2.VideoCapture(str(source))
    fps, total = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = H264Writer(out, w, h, fps, Fraction(1, round(fps)), crf=18, preset="veryfast")
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if n == 0 and first_frame is not None:
                cv2.imwrite(str(first_frame), frame)
            writer.encode_bgr(cv2.warpPerspective(frame, motion(n, total), (w, h)), n)
            n += 1
    finally:
        writer.close()
        cap.release()
    return n
