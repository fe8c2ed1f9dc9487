"""A picture held still for a while as real H.264: what a fixed camera records of a parked car or
an empty plaza. Evidence, redaction and page tests that need a small real clip make it here."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def still_clip(image: np.ndarray, path: Path, frames: int, fps: int, crf: int | None = None) -> None:
    """``image`` (BGR) repeated ``frames`` times at ``fps`` into an MP4 at ``path`` (x264, 4:2:0)."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        if crf is not None:
            stream.options = {"crf": str(crf)}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
