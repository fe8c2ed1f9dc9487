"""Two recorders for one camera (a ``civicwatch record --camera`` started for a camera the service
already records, or on a second machine sharing the data folder): the second must not touch the
first one's files, nor record the camera a second time (every segment would become a second job,
and every case of the camera would reach the reviewers twice)."""

from __future__ import annotations

import threading
import time

import pytest

from detector.media.recorder import Recorder, RecorderBusy, RecorderConfig, read_index

from .helpers import decoded_frames, recording


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.1)


def test_a_second_recorder_for_the_same_folder_refuses_and_leaves_the_first_ones_segment_alone(rtsp_camera, tmp_path):
    out = tmp_path / "rec"
    first = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=60.0))  # one long open segment
    with recording(first):
        _wait_for(lambda: any(out.glob("*.mp4.part")) and first.status.connected)
        [part] = out.glob("*.mp4.part")
        second = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=60.0))
        stop = threading.Event()
        timer = threading.Timer(4.0, stop.set)  # without the refusal: it records for 4 s, then stops
        timer.start()
        try:
            with pytest.raises(RecorderBusy, match="already"):
                second.run(stop)
        finally:
            timer.cancel()
            stop.set()
        assert part.exists()  # the first recorder's open segment was not "discarded" under it
        time.sleep(1.0)
    segments, gaps = read_index(out)
    index = (out / "index.jsonl").read_text()
    assert '"discarded"' not in index and gaps == []
    assert [s["ended_by"] for s in segments] == ["stop"]  # the first recorder's one segment, whole
    assert first.status.segments == 1 and second.status.segments == 0
    assert decoded_frames(out / segments[0]["path"]) == segments[0]["packets"]
    # once the first is done, the folder may be recorded again
    again = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=60.0))
    with recording(again):
        _wait_for(lambda: again.status.connected)


def test_record_refuses_a_folder_another_recorder_holds(rtsp_camera, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "rec"
    first = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=60.0))
    with recording(first):
        _wait_for(lambda: first.status.connected)
        proc = subprocess.run([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                               "--out", str(out)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "already being recorded" in proc.stderr, proc.stderr
        assert proc.stdout == ""
