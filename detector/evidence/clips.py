"""Evidence clips re-encoded from the source, and stills taken from it, at its full frame rate.

The analysis runs on thinned frames, but a reviewer must see what the camera saw: every frame of
the span, with the source's own timing. A browser-playable H.264 source is cut by stream copy
(``detector.media.streamcopy``); any other source is re-encoded here (H.264, yuv420p,
``+faststart`` so a browser plays it before the download finishes). ``stills_at`` gives the
frames the snapshot, crop, sheet and plate reader need, in one decode pass. Frames and their
times come from ``detector.media.frames`` (one timestamp policy for all evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import av
import numpy as np

from detector.decode import BestEffortClock, VideoInfo, VideoOpenError, picture, upright  # noqa: F401 (re-exported)
from detector.decode import probe as probe_video
from detector.media.encode import H264Writer, even
from detector.media.frames import DecodedFrame, FrameReadError, iter_frames  # noqa: F401 (re-exported)

DrawFn = Callable[[np.ndarray, float], np.ndarray]


ClipError = FrameReadError  # the source could not be read or the requested span holds no frames


def probe(source: Path) -> VideoInfo:
    """``detector.decode.probe``, with its refusal reported as a ``ClipError`` to clip callers."""
    try:
        return probe_video(source)
    except VideoOpenError as err:
        raise ClipError(str(err)) from None


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
            resized = (df.frame.width, df.frame.height) != (
                (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height))
            reshape = bool(info.width % 2 or info.height % 2 or info.rotation or resized)
            needs_pixels = ann is not None or key_t is not None or reshape
            bgr = picture(df.frame, info.rotation, (info.width, info.height)) if needs_pixels else None
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
        out.append(Still(target, t, picture(frame, info.rotation, (info.width, info.height))))
    return out
