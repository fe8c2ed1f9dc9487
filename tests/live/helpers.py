"""A real RTSP camera for the live tests: Debian's GStreamer RTSP server run by the system Python
(``rtsp_server.py`` beside this file), serving real footage from ``../shared`` in a loop."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import pytest

from detector.media.streamcopy import _nal_length_size, nal_units

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which has python3-gi (scripts/services.sh installs it)
CLIP = "beijing-intersection/uadetrac_overpass.mp4"  # H.264 High, B-frames, 30 fps, 8.4 s
# A 2.3 s cut of the same clip (one keyframe, at its start): looped, a keyframe every 2.3 s, so a
# recorder's segments last 2.3 s instead of 8.3 s, for tests of the recording, not of what is in it.
SHORT_CLIP = "beijing-intersection/uadetrac_overpass_short.mp4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspCamera:
    """``start()`` / ``kill()`` a server process on a fixed port, so a restart is the same camera."""

    def __init__(self, clip: Path, port: int | None = None, flags: tuple[str, ...] = ()):
        self.clip = clip
        # rtsp_server.py's, e.g. "--audio-only"; an H.265 clip is served as an H.265 camera
        self.flags = (*flags, "--h265") if video_codec(clip) == "hevc" else flags
        self.port = port or free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:  # the port may linger a moment after a kill
            self.proc = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), str(self.clip), str(self.port), *self.flags],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline()
            if line.startswith("ready"):
                return
            err = self.proc.stderr.read()
            self.proc.wait()
            if time.monotonic() > deadline:
                pytest.fail(f"the RTSP test server did not start (needs python3-gi and "
                            f"gir1.2-gst-rtsp-server-1.0: bash scripts/services.sh): {line}{err}")
            time.sleep(0.5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@contextmanager
def recording(recorder, join_s: float = 20.0) -> Iterator[threading.Thread]:
    """``recorder.run`` on a daemon thread for the body of the ``with``, yielding that thread (to
    check ``is_alive()``). On the way out, however the body ended (a failed wait or assert too), the
    recorder is told to stop and joined for at most ``join_s`` seconds: it never keeps recording
    into the next test, and a recorder that hangs cannot hang the suite (the test can then assert
    that the thread ended)."""
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(join_s)


def video_codec(path: Path) -> str | None:
    """The FFmpeg name of the clip's video codec ("h264", "hevc"), None without a video stream."""
    try:
        with av.open(str(path)) as container:
            return container.streams.video[0].codec_context.name if container.streams.video else None
    except (av.FFmpegError, OSError):
        return None


def is_slice(nal: bytes, hevc: bool) -> bool:
    """A coded slice NAL unit: H.264 types 1 and 5; H.265 types below 32."""
    return bool(nal) and ((nal[0] >> 1) & 0x3F < 32 if hevc else (nal[0] & 0x1F) in (1, 5))


def _hvcc_length_size(extradata: bytes | None) -> int | None:
    """Length-prefix size of hvcC-framed H.265 (MP4), None for Annex B (start codes)."""
    if extradata and len(extradata) > 21 and extradata[0] == 1:
        return (extradata[21] & 0x03) + 1
    return None


def picture_nals(path: Path) -> list[bytes]:
    """Per packet, the picture data (its slice NAL units) in decode order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        hevc = ctx.name == "hevc"
        size = _hvcc_length_size(ctx.extradata) if hevc else _nal_length_size(ctx.extradata)
        return [b"".join(n for n in nal_units(bytes(p), size) if is_slice(n, hevc))
                for p in container.demux(stream) if p.size]


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))
