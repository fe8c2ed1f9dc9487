"""Encode H.264 MP4 with the source's own timing: the one encoder evidence, annotation and
redaction share.

Frames keep their source presentation timestamps (shifted to start at 0), so a re-encoded copy
lines up frame for frame with the original and with the analysis times; ``+faststart`` puts the
index first so a browser plays the clip before the download finishes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def even(n: int) -> int:
    """Round up to even: H.264 4:2:0 frames have even sides."""
    return n + (n % 2)


class H264Writer:
    """One H.264 MP4 output with the source's timing (pts copied from the source time base)."""

    def __init__(self, path: Path, width: int, height: int, fps: float, time_base: Fraction, crf: int, preset: str):
        # A coarse source time base (AVI: 1/25) leaves no room for x264's B-frame reordering
        # delay; subdivide it by an integer so every source pts maps exactly.
        self.scale = max(1, -(-1000 // time_base.denominator))
        time_base = Fraction(time_base.numerator, time_base.denominator * self.scale)
        self.path = path
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width = width
        self.stream.height = height
        self.stream.pix_fmt = "yuv420p"
        # The muxer picks its own stream time base once the header is written; frames are stamped
        # in the encoder's time base, which stays put.
        self.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.stream.options = {"crf": str(crf), "preset": preset}
        self.width, self.height = width, height

    def encode_bgr(self, bgr: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(pad_even(bgr), format="bgr24")
        self._encode(frame, pts)

    def encode_frame(self, frame: av.VideoFrame, pts: int) -> None:
        self._encode(frame.reformat(format="yuv420p"), pts)

    def _encode(self, frame: av.VideoFrame, pts: int) -> None:
        frame.pts = pts * self.scale
        frame.time_base = self.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()


def pad_even(bgr: np.ndarray) -> np.ndarray:
    """H.264 4:2:0 needs even sides; pad one black row/column rather than scale (keeps geometry)."""
    h, w = bgr.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return bgr
    out = np.zeros((even(h), even(w), 3), dtype=np.uint8)
    out[:h, :w] = bgr
    return out
