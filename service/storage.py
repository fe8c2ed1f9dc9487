"""Files on disk: hashing, video probing, and where uploads and evidence live.

Paths stored in the database are relative to ``data_dir`` so that the data folder can be moved or
mounted elsewhere without rewriting rows.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import av


def sha256_file(path: Path, chunk_size: int = 1024 * 1024) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()


class NotAVideo(ValueError):
    """The file is not something the pipeline can decode."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration_s: float | None
    codec: str


def probe_video(path: Path) -> VideoInfo:
    """Open with PyAV and find a video stream, or raise ``NotAVideo`` saying why."""
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams:
                raise NotAVideo("the file has no video stream")
            s = streams[0]
            duration = None
            if s.duration is not None and s.time_base is not None:
                duration = float(s.duration * s.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            # Decode one frame: a container with a broken or unsupported codec opens but cannot play.
            frame = next(container.decode(video=0), None)
            if frame is None:
                raise NotAVideo("the video stream has no decodable frame")
            return VideoInfo(frame.width, frame.height, duration, s.codec_context.name)
    except NotAVideo:
        raise
    except (av.error.FFmpegError, StopIteration, ValueError, OSError) as err:
        raise NotAVideo(f"not a video file PyAV can open ({err.__class__.__name__}: {err})") from None


def rel(settings_data_dir: Path, path: Path) -> str:
    return os.path.relpath(path, settings_data_dir)


def safe_filename(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip() or "upload"
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)
    return keep[:120] or "upload"
