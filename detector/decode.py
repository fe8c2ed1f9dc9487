"""Decoding: frames with their stream timestamps, and a clear word when the file is not a video.

Every frame of the stream is decoded (inter-frame codecs need it), but only analysis frames are
converted to numpy arrays: the colour conversion costs as much as the decode on this machine, so
the thinning happens here, at the source. Times come from the stream's presentation timestamps,
never from a frame counter, because variable-frame-rate phone and drone files are common.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)


class VideoOpenError(ValueError):
    """The file is missing, not a video, or has no decodable video stream."""


@dataclass(frozen=True)
class VideoInfo:
    """What every stage needs to know about a source before reading it.

    Video time 0 is the first decoded frame (``first_pts``, FFmpeg's best-effort timestamp); the
    analysis, the clips and the case times all count from there, so they line up to the frame.
    """

    path: Path
    width: int
    height: int
    fps: float  # nominal rate (average / guessed rate), for frame-count arithmetic only
    duration_s: float | None  # relative to the first frame; None when the container does not say
    frame_count: int | None
    codec: str
    creation_time: str | None  # container metadata, ISO-ish string, when present
    time_base: Fraction = Fraction(1, 90000)
    first_pts: int = 0
    # Display rotation of the stream (degrees, FFmpeg's sign: -90 = turn clockwise to show).
    # ``width``/``height`` are already the displayed size; ``upright()`` turns decoded pixels.
    rotation: int = 0
    # Decoded pixel format (e.g. ``yuv420p``); decides, with the codec, whether a browser can play
    # the original bits (``detector.media.streamcopy``). None when the decoder does not say.
    pix_fmt: str | None = None


@dataclass
class DecodedFrame:
    index: int  # position in the decoded stream, counting every frame
    t: float  # seconds from the first frame
    image: np.ndarray | None  # BGR, only for analysis frames


@dataclass
class DamagedSpan:
    """Packets the decoder refused, and the frames dropped after them up to the next keyframe
    (video seconds): the analysis saw nothing there."""

    from_t: float
    to_t: float | None = None  # the keyframe decoding resumed at; None when the file ended first
    packets: int = 0


@dataclass
class DecodeReport:
    """What happened while decoding. A file that ends early (truncated upload) or whose container
    breaks stops with ``error``; packets the decoder refuses in the middle are skipped, decoding
    resumes at the next keyframe, and each such gap is listed in ``damaged``."""

    frames_decoded: int = 0
    last_t: float = 0.0
    error: str | None = None
    damaged: list[DamagedSpan] = field(default_factory=list)
    # (video seconds, width, height) where the stream's picture size changed (a DVR or camera
    # switching resolution mid-recording); those frames were scaled to the first frame's size.
    size_changes: list[tuple[float, int, int]] = field(default_factory=list)

    def damage_text(self) -> str:
        """The gaps in words, for warnings: ``3.30-4.00 s (8 packets refused or skipped)``."""
        return ", ".join(f"{d.from_t:.2f}-{d.to_t:.2f} s" if d.to_t is not None else f"{d.from_t:.2f} s to the end"
                         for d in self.damaged) + f" ({sum(d.packets for d in self.damaged)} packets refused or skipped)"


class BestEffortClock:
    """FFmpeg's ``guess_correct_pts``: choose pts or dts per frame by which has misbehaved less.

    Stateful on purpose (it learns which timestamp is faulty); make a new one after each seek.
    """

    def __init__(self) -> None:
        self._faulty_pts = 0
        self._faulty_dts = 0
        self._last_pts: int | None = None
        self._last_dts: int | None = None

    def __call__(self, frame: av.VideoFrame) -> int | None:
        pts, dts = frame.pts, frame.dts
        if dts is not None:
            if self._last_dts is not None and dts <= self._last_dts:
                self._faulty_dts += 1
            self._last_dts = dts
        elif pts is not None:
            self._last_dts = pts
        if pts is not None:
            if self._last_pts is not None and pts <= self._last_pts:
                self._faulty_pts += 1
            self._last_pts = pts
        elif dts is not None:
            self._last_pts = dts
        if pts is not None and (self._faulty_pts <= self._faulty_dts or dts is None):
            return pts
        return dts


def frame_rotation(frame: av.VideoFrame) -> int:
    """The display-matrix rotation PyAV reports for a frame (0 when it has none).

    Phone clips are stored landscape with a "rotate -90" display matrix; PyAV's ``to_ndarray``
    ignores it, so a detector would see people lying on their side and zones drawn on the
    upright picture would not fit. Every decoder in the pipeline turns its pixels with this.
    """
    try:
        return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except (TypeError, ValueError):
        return 0


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` turned as a player shows it (``rotation`` as from ``frame_rotation``)."""
    quarter = (rotation // 90) % 4
    if quarter == 0:
        return image
    # FFmpeg's rotation is counter-clockwise positive; np.rot90 with k>0 is counter-clockwise too.
    return np.ascontiguousarray(np.rot90(image, k=quarter))


def picture(frame: av.VideoFrame, rotation: int, size: tuple[int, int]) -> np.ndarray:
    """The frame's BGR pixels upright and at ``size`` (the stream's first frame, ``VideoInfo``).

    A camera or DVR that switches resolution mid-recording (a re-negotiated stream, a concatenated
    export) keeps its view, so the later frames are scaled to the first size: the zones, the boxes
    and every evidence picture stay in the one coordinate frame the scene and the case use."""
    image = upright(frame.to_ndarray(format="bgr24"), rotation)
    if (image.shape[1], image.shape[0]) != tuple(size):
        image = cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)
    return image


def _nominal_fps(stream) -> float:  # noqa: ANN001
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 25.0


def probe(path: Path) -> VideoInfo:
    """Read the header and decode the first frame: a file that opens but cannot play is refused too.

    Raises ``VideoOpenError`` with a message a person can act on (missing file, not a video, no
    decodable frame).
    """
    path = Path(path)
    if path.is_dir():
        raise VideoOpenError(f"{path.name}: is a folder, not a video file")
    if not path.is_file():
        raise VideoOpenError(f"{path.name}: no such file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoOpenError(f"{path.name}: the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frame = next(container.decode(stream), None)
            if frame is None:
                raise VideoOpenError(f"{path.name}: the video stream has no decodable frame")
            first_pts = BestEffortClock()(frame) or 0
            tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
            duration = None
            if stream.duration is not None:
                duration = float((stream.duration + (stream.start_time or 0) - first_pts) * tb)
            elif container.duration is not None:
                duration = container.duration / av.time_base - float(first_pts * tb)
            creation = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
            rotation = frame_rotation(frame)
            width, height = (frame.height, frame.width) if rotation in (90, 270) else (frame.width, frame.height)
            return VideoInfo(path, width, height, _nominal_fps(stream), duration, stream.frames or None,
                             stream.codec_context.name, creation, tb, int(first_pts), rotation,
                             frame.format.name if frame.format is not None else None)
    except VideoOpenError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, OSError, ValueError) as err:
        # strerror, not str(err): FFmpeg's message repeats the full path, which may be a temp file.
        reason = getattr(err, "strerror", None) or str(err)
        raise VideoOpenError(f"{path.name}: not a readable video ({reason})") from None


def one_picture(path: Path) -> bool:
    """Whether the video stream ends cleanly after its first frame: a photo (FFmpeg opens a JPEG or
    PNG, whatever its name, as a one-frame stream), on which nothing can move or be tracked. A
    stream that fails after its first frame is damaged footage, which the analysis handles; a
    file that cannot be opened is not one either (``probe`` says why)."""
    try:
        with av.open(str(path)) as container:
            frames = container.decode(container.streams.video[0])
            return next(frames, None) is not None and next(frames, None) is None
    except (av.error.FFmpegError, OSError, ValueError, IndexError):
        return False


def reachable_end_s(path: Path, info: VideoInfo, max_packets: int = 5000) -> float | None:
    """Video seconds of the last video packet the file holds, found by a seek to the end the
    container claims and a demux from there; None when that cannot be told cheaply (no claimed
    duration, no seek, more than ``max_packets`` after the seek point, nothing read).

    A header may claim far more than the file holds (a drone's firmware writing a never-closed
    recording, a bogus MKV Duration): a service that splits a job by the claimed length made
    millions of segments of nothing from a 2 s clip claiming 30 years."""
    if info.duration_s is None or not info.time_base:
        return None
    last = None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            target = info.first_pts + int(info.duration_s / info.time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            try:
                for n, packet in enumerate(container.demux(stream)):
                    if n >= max_packets:
                        return None
                    if packet.pts is not None and (last is None or packet.pts > last):
                        last = packet.pts
            except (av.error.FFmpegError, EOFError):
                pass  # a damaged or cut tail: what was read before it counts
    except (av.error.FFmpegError, OSError, ValueError, IndexError, OverflowError):
        return None
    if last is None:
        return None
    return max(0.0, float((last - info.first_pts) * info.time_base))


def grid_start(step: float, origin_s: float) -> float:
    """The first analysis time (>= 0, in file seconds) of a grid of ``step`` laid from ``origin_s``
    seconds before the file's start."""
    if not step or origin_s <= 0:
        return 0.0
    return max(0.0, math.ceil(origin_s / step - 1e-6) * step - origin_s)


def iter_frames(
    path: Path,
    analysis_fps: float | None,
    report: DecodeReport,
    *,
    all_images: bool = False,
    start_s: float = 0.0,
    end_s: float | None = None,
    grid_origin_s: float = 0.0,
) -> Iterator[DecodedFrame]:
    """Yield every decoded frame; ``image`` is filled on analysis frames (or all with ``all_images``).

    A packet the decoder refuses part-way (a damaged sector, a glitch in a camera's recording) is
    skipped with the frames after it up to the next keyframe, and listed in ``report.damaged``
    (``decoded_frames``); an error of the container (a truncated upload) ends the iteration and is
    recorded in ``report.error``, so that the caller keeps what it found before it.

    ``start_s`` / ``end_s`` read one part of the file (a segment of a split job): it seeks to the
    keyframe before ``start_s``, yields frames from ``start_s`` to ``end_s`` with the same times,
    frame indices and analysis grid as a read from the top would give them, so a segment sees the
    very frames the whole run sees there.

    ``grid_origin_s``: this file's first frame is that many seconds into a longer recording (a live
    camera's analysis window, cut from an unbroken recording): the analysis grid is laid from the
    recording's start instead of the file's, so every window samples the very frames a read of the
    whole recording samples (and neighbouring windows agree on when a case was decided).
    """
    step = 1.0 / analysis_fps if analysis_fps else 0.0
    first = probe(path)  # time 0 and the picture size of the file, before seeking away from it
    origin = first if start_s > 0 else None
    # A segment seeks; a container that cannot, or whose index lands past the start, is read from
    # the top with the early frames skipped.
    for attempt in ("seek", "top") if origin is not None else ("top",):
        overshot = yield from _read(path, step, report, all_images, origin, start_s, end_s, attempt == "seek",
                                    grid_start(step, grid_origin_s), (first.width, first.height))
        if not overshot:
            return


def _read(path: Path, step: float, report: DecodeReport, all_images: bool, origin: VideoInfo | None,
          start_s: float, end_s: float | None, seek: bool, first_t: float = 0.0,
          size: tuple[int, int] | None = None) -> Iterator[DecodedFrame]:
    """One pass of ``iter_frames``; returns True when the seek landed past ``start_s``."""
    next_t = first_t
    t0: float | None = None
    seen_size = size
    index = 0
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise VideoOpenError(f"{Path(path).name}: not a readable video ({err})") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        clock = BestEffortClock()
        time_base = float(stream.time_base) if stream.time_base else 0.0
        if origin is not None and time_base:
            t0 = origin.first_pts * time_base
            while step and next_t + 1e-6 < start_s:  # the whole run's grid, stepped as it steps it
                next_t += step
        if seek and t0 is not None:
            target = origin.first_pts + int(start_s / time_base)
            try:
                container.seek(max(target - 1, 0), stream=stream, backward=True, any_frame=False)
            except (av.error.FFmpegError, OSError, ValueError):
                return True
        first = True
        try:
            for frame in decoded_frames(container, stream, report.damaged,
                                        lambda pts: max(0.0, pts * time_base - (t0 or 0.0))
                                        if pts is not None and time_base else report.last_t):
                ts = clock(frame)
                if ts is not None and time_base:
                    t_abs = ts * time_base
                else:
                    t_abs = index / rate
                if t0 is None:
                    t0 = t_abs
                t = max(0.0, t_abs - t0)
                if origin is not None:
                    if first and seek and t > start_s + 1e-6:
                        return True
                    first = False
                    index = round(t * rate)
                    if t + 1e-6 < start_s:
                        continue
                if end_s is not None and t > end_s + 1e-6:
                    break
                shown = (frame.height, frame.width) if frame_rotation(frame) in (90, 270) else (
                    frame.width, frame.height)
                if size is not None and shown != seen_size:
                    seen_size = shown
                    if shown != size:
                        report.size_changes.append((t, *shown))
                        log.warning("%s: the picture is %dx%d from %.2f s (the video starts at %dx%d); "
                                    "scaled to the first size", Path(path).name, *shown, t, *size)
                want = all_images or step == 0.0 or t + 1e-6 >= next_t
                image = None
                if want:
                    image = picture(frame, frame_rotation(frame), size or shown)
                    if step:
                        # Stay on the analysis grid even when a frame is skipped or late.
                        while next_t <= t + 1e-6:
                            next_t += step
                report.frames_decoded = index + 1
                report.last_t = t
                yield DecodedFrame(index, t, image)
                index += 1
        except (av.error.FFmpegError, EOFError) as err:
            report.error = f"decoding stopped at {report.last_t:.2f} s ({err.__class__.__name__}: {err})"
            log.warning("%s: %s", Path(path).name, report.error)
    # A seek after which nothing decoded (an MPEG-TS seek lands beside, not on, a keyframe; with
    # a camera's long GOP no keyframe follows) is read again from the top.
    return seek and first and report.error is None


def decoded_frames(container, stream, damaged: list[DamagedSpan],  # noqa: ANN001
                   seconds: Callable[[int | None], float]) -> Iterator[av.VideoFrame]:
    """The stream's frames, packet by packet. A packet the decoder refuses (a damaged sector, a
    dropped network chunk in a camera's recording) no longer ends the read: it and the frames that
    follow are dropped until the next keyframe decodes, since a frame predicted from a damaged one
    shows smeared blocks a detector would read as objects (and a reviewer as evidence). The gap is
    appended to ``damaged`` (``seconds``: a pts as the caller's video time). Errors of the
    container itself still end the read (caller). The analysis and every evidence reader
    (``detector.media.frames``) decode through here, so they skip the same frames."""
    resync: DamagedSpan | None = None

    for packet in container.demux(stream):
        if resync is not None and packet.size and not packet.is_keyframe:
            resync.packets += 1
            continue
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            if resync is None:
                resync = DamagedSpan(seconds(packet.pts))
                damaged.append(resync)
                log.warning("%s: damaged packet at %.2f s; skipping to the next keyframe",
                            Path(container.name).name, resync.from_t)
            resync.packets += 1
            continue
        for frame in frames:
            if resync is not None:
                if not frame.key_frame:
                    continue
                resync.to_t = seconds(frame.pts)
                resync = None
            yield frame
