"""Files on disk: hashing, video probing, and where uploads and evidence live.

Paths stored in the database are relative to ``data_dir`` so that the data folder can be moved or
mounted elsewhere without rewriting rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from detector.decode import VideoInfo, VideoOpenError, one_picture, probe, reachable_end_s


class NotAVideo(ValueError):
    """The file is not something the pipeline can decode."""


# FFmpeg demuxers that play other files than the one opened: a concat list (recognised by its
# first line), an HLS playlist, a DASH manifest. An upload is footage itself, never a pointer to
# files on the server, which the analysis would read in its place.
INDIRECT_FORMATS = frozenset({"concat", "hls", "dash", "webm_dash_manifest", "tee", "imf"})


def probe_video(path: Path) -> VideoInfo:
    """The pipeline's own probe (opens and decodes a frame), or ``NotAVideo`` saying why."""
    indirect = _indirect_format(path)
    if indirect:
        raise NotAVideo(f"a list of other files ({indirect}), not a video file")
    try:
        info = probe(path)
    except VideoOpenError as err:
        reason = str(err).split(": ", 1)[-1].replace("not a readable video", "not a video PyAV can open")
        raise NotAVideo(reason) from None
    if one_picture(path):
        raise NotAVideo(f"a single still picture ({info.codec}, {info.width}x{info.height}), not a video")
    return info


def stored_duration_s(path: Path, info: VideoInfo) -> float | None:
    """The length an upload is recorded with (and its job split by): the container's claim,
    unless the file holds clearly less (a header claiming years over a two-second clip made a
    job of millions of empty segments). A truncated file whose end cannot be reached keeps the
    claim; the analysis reports the truncation."""
    end = reachable_end_s(path, info)
    if info.duration_s is not None and end is not None and end + 1.0 < info.duration_s:
        return end
    return info.duration_s


def _indirect_format(path: Path) -> str | None:
    """The demuxer's name when FFmpeg reads ``path`` as a list of other files, else None (also
    when it cannot open it at all: the probe says why)."""
    try:
        with av.open(str(path)) as container:
            names = set(container.format.name.split(","))
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    found = names & INDIRECT_FORMATS
    return ",".join(sorted(found)) if found else None


def rel(settings_data_dir: Path, path: Path) -> str:
    return os.path.relpath(path, settings_data_dir)


# Containers whose name the stored upload may keep. FFmpeg picks some demuxers by a file's suffix
# as well as its bytes, and some of those read other files: a playlist ('.m3u8', HLS), a DASH
# manifest, a concat list. An upload named so, and whose bytes also pass as video (a playlist
# followed by MPEG-TS packets), was analysed as the files it named anywhere on the server.
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".flv",
    ".3gp", ".wmv", ".mxf", ".h264", ".264", ".h265", ".265", ".hevc",
})
NEUTRAL_SUFFIX = ".video"  # no demuxer claims it: FFmpeg goes by the bytes alone


def stored_suffix(filename: str) -> str:
    """The suffix an upload is stored under: its own when it is a video container's, else neutral."""
    suffix = Path(filename).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else NEUTRAL_SUFFIX


MAX_FILENAME = 120


def safe_filename(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip() or "upload"
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)
    if len(keep) > MAX_FILENAME:
        # the stem is shortened, not the end: a long name kept its first 120 characters and lost
        # its extension (shown without '.mp4', stored as NEUTRAL_SUFFIX)
        suffix = Path(keep).suffix
        suffix = suffix if 1 < len(suffix) <= 16 else ""
        keep = keep[:MAX_FILENAME - len(suffix)] + suffix
    return keep or "upload"
