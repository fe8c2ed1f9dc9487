"""Decode a span of a video at its full frame rate, with one timestamp policy for all evidence.

Times are video seconds from the first frame, taken from stream timestamps. Some containers carry
broken presentation timestamps (AVI with packed B-frames reports them out of order), so each frame
gets FFmpeg's "best effort" timestamp: the presentation timestamp while it behaves, the decode
timestamp once it has proven more reliable (the same choice ``ffmpeg`` itself makes). Clips,
stills, the annotated render and the redacted public clip all read frames through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av

from detector.decode import BestEffortClock, VideoInfo, decoded_frames


class FrameReadError(RuntimeError):
    """The source could not be read or the requested span holds no frames."""


def _open(source: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    try:
        container = av.open(str(source))
    except (av.FFmpegError, OSError) as err:
        raise FrameReadError(f"{source}: cannot open video: {err}") from None
    if not container.streams.video:
        container.close()
        raise FrameReadError(f"{source}: no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


@dataclass
class DecodedFrame:
    t: float  # video seconds from the first frame
    pts: int  # best-effort pts in the source time base, made strictly increasing
    frame: av.VideoFrame


def iter_frames(source: Path, info: VideoInfo, start_s: float) -> Iterator[DecodedFrame]:
    """Frames with ``t >= start_s`` (and a few before, for the caller to skip), seeking first.

    Seeks to the keyframe at or before ``start_s`` and decodes forward; falls back to decoding from
    the top when the container cannot seek, the seek landed past the start, or nothing decoded
    after it.
    """
    tb = info.time_base
    target = info.first_pts + int(start_s / tb) if start_s > 0 else None
    for attempt in ("seek", "top"):
        container, stream = _open(source)
        try:
            if attempt == "seek" and target is not None:
                try:
                    container.seek(max(target - 1, 0), stream=stream, backward=True, any_frame=False)
                except (av.FFmpegError, OSError, ValueError):
                    continue  # not seekable (some GIFs, pipes): decode from the top
            elif attempt == "seek":
                attempt = "top"
            clock = BestEffortClock()
            last_pts: int | None = None
            first = True
            for frame in decoded_frames(container, stream, [], lambda p: float((p - info.first_pts) * tb)
                                        if p is not None else 0.0):
                pts = clock(frame)
                if pts is None:
                    pts = last_pts + 1 if last_pts is not None else info.first_pts
                if last_pts is not None and pts <= last_pts:
                    pts = last_pts + 1  # duplicate/out-of-order stamp: keep order, nudge one tick
                t = float((pts - info.first_pts) * tb)
                if first and attempt == "seek" and t > start_s + 1e-6:
                    break  # seek overshot (imprecise index): start again from the top
                first = False
                last_pts = pts
                yield DecodedFrame(t, pts, frame)
            else:
                if not first or attempt == "top":
                    return
                # The seek decoded nothing: an MPEG-TS seek lands on the packet nearest the time,
                # not on a keyframe, and with no keyframe after it (a camera's long GOP) the
                # decoder never outputs a frame. Read from the top instead.
        finally:
            container.close()
    return
