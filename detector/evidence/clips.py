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
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from detector.decode import BestEffortClock, VideoInfo, VideoOpenError, upright
from detector.decode import probe as probe_video

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


def _even(n: int) -> int:
    return n + (n % 2)


class _Encoder:
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
        frame = av.VideoFrame.from_ndarray(_pad_even(bgr), format="bgr24")
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


def _pad_even(bgr: np.ndarray) -> np.ndarray:
    """H.264 4:2:0 needs even sides; pad one black row/column rather than scale (keeps geometry)."""
    h, w = bgr.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return bgr
    out = np.zeros((_even(h), _even(w), 3), dtype=np.uint8)
    out[:h, :w] = bgr
    return out


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
    w, h = _even(info.width), _even(info.height)
    enc = _Encoder(out_path, w, h, info.fps, info.time_base, crf, preset)
    ann = _Encoder(annotated_path, w, h, info.fps, info.time_base, crf, preset) if annotated_path else None
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
