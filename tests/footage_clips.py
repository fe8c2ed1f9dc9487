"""Small real H.264 files in the shapes cameras, DVRs and phones write them (MPEG-TS with a
running clock, MKV, an MP4 to patch), re-encoded from the real Beijing footage with PyAV only, so
no test needs an ffmpeg binary the CI machine may not have."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

SHORT_MP4 = "beijing-intersection/uadetrac_overpass_short.mp4"


def reencode(footage_dir: Path, path: Path, container: str, frames: int, pts: Callable[[int], int] = lambda i: i,
             time_base: Fraction = Fraction(1, 30), options: dict[str, str] | None = None,
             codec: str = "libx264") -> None:
    """The first ``frames`` frames of the short Beijing clip at 320x180 into ``path`` (``container``:
    an FFmpeg format name), frame ``i`` stamped ``pts(i)`` in ``time_base``; encoder ``codec``
    (libx264, or libx265 for an H.265 camera) with its ``options``."""
    import av

    with av.open(str(footage_dir / SHORT_MP4)) as src, av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        if options:
            stream.options = options
        if time_base != Fraction(1, 30):
            stream.codec_context.time_base = time_base
        for i, frame in enumerate(src.decode(video=0)):
            if i == frames:
                break
            frame = frame.reformat(width=320, height=180, format="yuv420p")
            frame.pts, frame.time_base = pts(i), time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
