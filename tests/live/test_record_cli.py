"""``civicwatch record --url --out`` as an operator runs it: a process recording the real RTSP camera,
printing each segment as a JSON line, and on Ctrl-C (SIGINT) finishing the open segment and exiting 0."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from detector.media.recorder import read_index

from .helpers import decoded_frames


def test_record_command_writes_segments_and_stops_cleanly_on_ctrl_c(rtsp_camera, tmp_path):
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                             "--out", str(out), "--segment-s", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())  # blocks until the first segment is finished
        assert first["type"] == "segment" and first["ended_by"] == "length"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    printed = [first] + [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert [p["ended_by"] for p in printed] == ["length", "stop"]
    assert 8.0 < first["duration_s"] < 8.7  # cut at the camera's next keyframe after 5 s
    listed, gaps = read_index(out)
    assert [s["path"] for s in listed] == [p["path"] for p in printed] and gaps == []
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(p["path"] for p in printed)
    assert all(decoded_frames(out / p["path"]) == p["packets"] for p in printed)
