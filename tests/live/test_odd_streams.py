"""Cameras that misbehave for weeks on end, met through the real RTSP server: one that answers but
sends no video, and one whose clock starts again while the connection stays up. The recorder
must say what is wrong, keep trying, and never record a picture under a wrong time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from detector.media.recorder import Recorder, RecorderConfig

from .helpers import CLIP, RtspCamera


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def odd_camera(footage_dir, request):
    camera = RtspCamera(footage_dir / CLIP, flags=request.param)
    camera.start()
    yield camera
    camera.kill()


@pytest.mark.parametrize("odd_camera", [("--audio-only",)], indirect=True)
def test_a_camera_sending_no_video_is_reported_and_retried(odd_camera, tmp_path):
    """An RTSP server that answers with an audio track only (a misconfigured channel): the
    recorder's thread died on an IndexError, leaving no error, no gap and no retry, so the camera
    stayed unrecorded even after it was fixed."""
    recorder = Recorder(
        RecorderConfig(
            odd_camera.url,
            Path(tmp_path),
            connect_timeout_s=3,
            read_timeout_s=3,
            backoff_initial_s=0.1,
            backoff_max_s=0.2,
        )
    )
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _wait(lambda: recorder.status.connections >= 2 or not thread.is_alive(), 20, "a second attempt")
        assert thread.is_alive(), "the recorder gave up on the camera"
    finally:
        stop.set()
        thread.join(10)
    assert "no video" in (recorder.status.last_error or "")
    assert recorder.status.gap_open_since is not None and recorder.status.segments == 0
