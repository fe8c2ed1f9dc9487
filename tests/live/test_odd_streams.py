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


@pytest.mark.parametrize("odd_camera", [("--stall-after=3",)], indirect=True)
def test_a_camera_that_answers_but_sends_no_pictures_never_reads_as_connected(odd_camera, tmp_path):
    """A hung encoder: the RTSP server answers every connect, then sends nothing. The recorder
    reported ``connected`` from the answer to the read timeout, about a third of the time at
    this backoff, so the health page and ``civicwatch_live_online`` (fed by it) flickered to
    online for a camera that had not sent a picture, and an alert on 'offline for 5 minutes'
    never fired."""
    recorder = Recorder(
        RecorderConfig(
            odd_camera.url,
            Path(tmp_path),
            connect_timeout_s=2,
            read_timeout_s=2,
            backoff_initial_s=0.2,
            backoff_max_s=0.4,
        )
    )
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    seen = set()
    try:
        deadline = time.monotonic() + 20
        while recorder.status.connections < 2 and time.monotonic() < deadline:
            seen.add(recorder.status.connected)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert recorder.status.connections >= 2 and recorder.status.segments == 0
    assert seen == {False}
    assert recorder.status.gap_open_since is not None and recorder.status.last_error
