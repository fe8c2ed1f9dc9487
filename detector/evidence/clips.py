"""Cut evidence clips from the original source at its full frame rate, with one decode per cut.

The analysis runs on thinned frames, but a reviewer must see what the camera saw: every frame of
the span, with the source's own timing. So the clip is re-encoded from the original stream
(H.264, yuv420p, ``+faststart`` so a browser plays it before the download finishes), and the
annotated copy, the snapshot and the crop all come from the same decoded frames in the same pass.

Times are video seconds from the first frame, taken from stream timestamps. Some containers carry
broken presentation timestamps (AVI with packed B-frames reports them out of order), so each frame
gets FFmpeg's "best effort" timestamp: the presentation timestamp while it behaves, the decode
timestamp once it has proven more reliable (the same choice ``ffmpeg`` itself makes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from detector.decode import BestEffortClock, VideoInfo, VideoOpenError, upright
from detector.decode import probe as probe_video
from detector.media.encode import H264Writer, even

DrawFn = Callable[[np.ndarray, float], np.ndarray]


class ClipError(RuntimeError):
    """The source could not be read or the requested span holds no frames."""


def _open(source: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    try:
        container = av.open(str(source))
    except (av.FFmpegError, OSError) as err:
        raise ClipError(f"{source}: cannot open video: {err}") from None
    if not container.streams.video:
        container.close()
        raise ClipError(f"{source}: no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def probe(source: Path) -> VideoInfo:
    """``detector.decode.probe``, with its refusal reported as a ``ClipError`` to clip callers."""
    try:
        return probe_video(source)
    except VideoOpenError as err:
        raise ClipError(str(err)) from None


@dataclass
class DecodedFrame:
    t: float  # video seconds from the first frame
    pts: int  # best-effort pts in the source time base, made strictly increasing
    frame: av.VideoFrame


def iter_frames(source: Path, info: VideoInfo, start_s: float) -> Iterator[DecodedFrame]:
    """Frames with ``t >= start_s`` (and a few before, for the caller to skip), seeking first.

    Seeks to the keyframe at or before ``start_s`` and decodes forward; falls back to decoding from
    the top when the container cannot seek or the seek landed past the start.
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
            for frame in container.decode(stream):
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
                return
        finally:
            container.close()
    return


@dataclass
class KeyFrame:
    """The decoded frame nearest the event's key instant, for the snapshot and the crop."""

    t: float
    clip_index: int
    clip_t: float
    image_bgr: np.ndarray  # original pixels
    annotated_bgr: np.ndarray | None


@dataclass
class ClipResult:
    path: Path
    annotated_path: Path | None
    start_s: float  # video time of the first frame written
    end_s: float  # video time of the last frame written
    frames: int
    fps: float
    width: int  # encoded size (source size rounded up to even)
    height: int
    key: KeyFrame | None


def cut_clip(
    source: Path,
    out_path: Path,
    start_s: float,
    end_s: float,
    *,
    draw: DrawFn | None = None,
    annotated_path: Path | None = None,
    key_t: float | None = None,
    info: VideoInfo | None = None,
    crf: int = 23,
    preset: str = "veryfast",
) -> ClipResult:
    """Re-encode every source frame with ``start_s <= t <= end_s`` (clamped to the video).

    With ``draw`` and ``annotated_path``, writes the annotated copy from the same decoded frames
    (``draw`` gets a BGR copy and video time ``t``). With ``key_t``, keeps the frame nearest to it.
    """
    source = Path(source)
    if (draw is None) != (annotated_path is None):
        raise ValueError("draw and annotated_path go together")
    info = info or probe(source)
    start_s = max(0.0, float(start_s))
    if info.duration_s is not None:
        end_s = min(float(end_s), info.duration_s)
    if end_s < start_s:
        raise ClipError(f"{source}: span {start_s:.3f}..{end_s:.3f} s lies outside the video")
    w, h = even(info.width), even(info.height)
    enc = H264Writer(out_path, w, h, info.fps, info.time_base, crf, preset)
    ann = H264Writer(annotated_path, w, h, info.fps, info.time_base, crf, preset) if annotated_path else None
    base_pts = None
    first_t = last_t = None
    count = 0
    key: KeyFrame | None = None
    try:
        for df in iter_frames(source, info, start_s):
            if df.t < start_s - 1e-6:
                continue
            if df.t > end_s + 1e-6:
                break
            if base_pts is None:
                base_pts, first_t = df.pts, df.t
            out_pts = df.pts - base_pts
            reshape = bool(info.width % 2 or info.height % 2 or info.rotation)
            needs_pixels = ann is not None or key_t is not None or reshape
            bgr = upright(df.frame.to_ndarray(format="bgr24"), info.rotation) if needs_pixels else None
            if bgr is not None and reshape:
                enc.encode_bgr(bgr, out_pts)
            else:
                enc.encode_frame(df.frame, out_pts)
            drawn = None
            if ann is not None:
                drawn = draw(bgr.copy(), df.t)
                ann.encode_bgr(drawn, out_pts)
            if key_t is not None and (key is None or abs(df.t - key_t) < abs(key.t - key_t)):
                key = KeyFrame(df.t, count, df.t - first_t, bgr, drawn)  # nearest frame wins
            last_t = df.t
            count += 1
    finally:
        enc.close()
        if ann is not None:
            ann.close()
    if count == 0:
        raise ClipError(f"{source}: no frames between {start_s:.3f} and {end_s:.3f} s")
    return ClipResult(out_path, annotated_path, first_t, last_t, count, info.fps, w, h, key)


@dataclass
class Still:
    """The decoded frame nearest a requested video time (upright BGR pixels)."""

    wanted_t: float
    t: float
    image_bgr: np.ndarray


def stills_at(source: Path, info: VideoInfo, times: list[float]) -> list[Still]:
    """One decode pass from the earliest to the latest requested time; the nearest frame to each.

    Only the chosen frames are converted to pixels, so the pass costs little more than decoding.
    Times outside the video get its first or last frame.
    """
    wanted = sorted({float(t) for t in times})
    if not wanted:
        return []
    best: dict[float, tuple[float, av.VideoFrame]] = {}
    prev: tuple[float, av.VideoFrame] | None = None
    pending = list(wanted)
    for df in iter_frames(source, info, max(0.0, wanted[0])):
        current = (df.t, df.frame)
        while pending and df.t >= pending[0] - 1e-6:
            target = pending.pop(0)
            pick = prev if prev is not None and abs(prev[0] - target) < abs(df.t - target) else current
            best[target] = pick
        prev = current
        if not pending:
            break
    for target in pending:  # past the end of the video: its last frame
        if prev is not None:
            best[target] = prev
    if not best:
        raise ClipError(f"{source}: no frame near {wanted[0]:.3f} s")
    out = []
    for target in sorted(best):
        t, frame = best[target]
        out.append(Still(target, t, upright(frame.to_ndarray(format="bgr24"), info.rotation)))
    return out
