"""Cameras that misbehave for weeks on end, met through the real RTSP server: one that answers but
sends no video, and one whose clock starts again while the connection stays up. The recorder
must say what is wrong, keep trying, and never record a picture under a wrong time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from detector.media.recorder import Recorder, RecorderConfig

from footage_clips import reencode

from .helpers import SHORT_CLIP, RtspCamera, decoded_frames, picture_nals, recording


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def odd_camera(footage_dir, request):
    """The short clip (2.3 s, one keyframe): its loops, and a clock reset after the first, come soon."""
    camera = RtspCamera(footage_dir / SHORT_CLIP, flags=request.param)
    camera.start()
    yield camera
    camera.kill()


@pytest.fixture
def clock_reset_camera(footage_dir, tmp_path):
    """The short clip re-encoded (320x180, under a second of work) with a keyframe every 0.5 s, its
    clock reset after the first loop: the first loop is cut into several segments before the jump.
    The short clip itself has one keyframe a loop, so the first loop was one segment, ended by the
    jump, and no segment before it could show that the jump alone starts a new timeline. One slice
    a picture, as the camera's own (x264's slice threads cut each picture in two)."""
    clip = tmp_path / "keyframe-every-half-second.mp4"
    reencode(footage_dir, clip, "mp4", frames=69, options={"g": "15", "threads": "1"})
    camera = RtspCamera(clip, flags=("--clock-reset",))
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
    with recording(recorder, join_s=10) as thread:
        _wait(lambda: recorder.status.connections >= 2 or not thread.is_alive(), 20, "a second attempt")
        assert thread.is_alive(), "the recorder gave up on the camera"
    assert "no video" in (recorder.status.last_error or "")
    assert recorder.status.gap_open_since is not None and recorder.status.segments == 0


@pytest.mark.parametrize("odd_camera", [("--stall-after=3",)], indirect=True)
def test_a_camera_that_answers_but_sends_no_pictures_never_reads_as_connected(odd_camera, tmp_path):
    """A hung encoder: the RTSP server answers every connect, then sends nothing. The recorder
    reported ``connected`` from the answer to the read timeout, most of the time at this
    backoff, so the health page and ``civicwatch_live_online`` (fed by it) flickered to
    online for a camera that had not sent a picture, and an alert on 'offline for 5 minutes'
    never fired."""
    recorder = Recorder(
        RecorderConfig(
            odd_camera.url,
            Path(tmp_path),
            connect_timeout_s=2,
            read_timeout_s=1,
            backoff_initial_s=0.2,
            backoff_max_s=0.4,
        )
    )
    seen = set()
    with recording(recorder, join_s=10):
        deadline = time.monotonic() + 20
        while recorder.status.connections < 2 and time.monotonic() < deadline:
            seen.add(recorder.status.connected)
            time.sleep(0.05)
    assert recorder.status.connections >= 2 and recorder.status.segments == 0
    assert seen == {False}
    assert recorder.status.gap_open_since is not None and recorder.status.last_error


def test_a_camera_clock_jumping_back_starts_a_new_timeline_and_loses_no_picture(clock_reset_camera, tmp_path):
    """The camera's clock starts again with the connection up (a reset, an NTP correction, a
    wrapped counter). Every picture after it was dropped as 'out of order' until the timestamps
    caught up with the old ones (after a week's uptime: a week), with no gap and the camera
    shown connected. Now the segment before the jump ends there ("clock"), and the pictures after
    it are recorded as a new timeline whose wall clock follows on from it, never overlapping;
    the segments cut before the jump stay one timeline with it, on the one connection."""
    segments = []
    recorder = Recorder(
        RecorderConfig(clock_reset_camera.url, Path(tmp_path), segment_s=0.5, read_timeout_s=3.0),
        on_segment=segments.append,
    )
    with recording(recorder):
        _wait(lambda: any(s.ended_by == "clock" for s in segments[:-1]), 30, "a segment after the jump")
    # a keyframe every 0.5 s of the 2.3 s loop, segments of 0.5 s: the first loop is cut into
    # "length" segments at its keyframes (three: 1.0, 0.5 and 0.5 s), and its last 0.3 s end at the
    # jump. Those before it are one timeline with it (one connection, numbered on), not new ones
    [k] = [i for i, seg in enumerate(segments) if seg.ended_by == "clock"]
    before, after = segments[k], segments[k + 1]
    assert k >= 2 and [s.ended_by for s in segments[:k]] == ["length"] * k, segments
    assert [(s.connection, s.sequence) for s in segments[: k + 1]] == [(before.connection, i + 1) for i in range(k + 1)]
    assert recorder.status.connections == 1  # the jump is met on the open connection, not by reconnecting
    assert after.connection == before.connection + 1 and after.sequence == 1  # no window joins them
    assert after.start >= before.end
    source = picture_nals(clock_reset_camera.clip)
    # the pictures after the jump are recorded from the second loop's first one (the server sends
    # that loop late, at once; that none of it is lost, B-pictures included, test_multi_slice.py checks)
    assert picture_nals(after.path)[0] == source[0]
    assert decoded_frames(after.path) == after.packets
