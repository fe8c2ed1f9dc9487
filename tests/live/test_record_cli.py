"""``civicwatch record --url --out`` as an operator runs it: a process recording the real RTSP camera,
printing each segment as a JSON line, and on Ctrl-C (SIGINT) finishing the open segment and exiting 0."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

from detector.media.recorder import Recorder, RecorderConfig, parse_segment_name, read_index

from .helpers import decoded_frames, recording


def test_record_command_writes_segments_and_stops_cleanly_on_ctrl_c(rtsp_camera, tmp_path):
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                             "--out", str(out), "--segment-s", "3"],
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
    assert 4.5 < first["duration_s"] < 4.7  # cut at the camera's first keyframe >= 3 s in (2.3 s apart)
    listed, gaps = read_index(out)
    assert [s["path"] for s in listed] == [p["path"] for p in printed] and gaps == []
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(p["path"] for p in printed)
    assert all(decoded_frames(out / p["path"]) == p["packets"] for p in printed)


def test_a_segment_cut_short_by_a_killed_recorder_is_discarded_with_its_reason_and_its_time_a_gap(
        rtsp_camera, tmp_path):
    """``kill -9`` (an OOM kill, a power cut) mid-segment left ``*.mp4.part`` without its MP4
    index: unplayable, never cleaned up by anything, and the restarted recorder recorded no gap,
    so the camera's footage looked unbroken. The next start removes it, says so in the index, and
    the lost time is a gap from the part's first picture to the restarted recording's."""
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                             "--out", str(out), "--segment-s", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        time.sleep(1.0)  # inside the second segment
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    [part] = out.glob("*.mp4.part")
    part_start = parse_segment_name(part.name.removesuffix(".part"))
    # the second segment's: it starts where the first ends (names are to the millisecond)
    expected = parse_segment_name(first["path"]) + timedelta(seconds=first["duration_s"])
    assert abs(part_start - expected) <= timedelta(milliseconds=1)

    segments, gaps = [], []
    recorder = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=2.0, backoff_initial_s=0.25),
                        on_segment=segments.append, on_gap=gaps.append)
    with recording(recorder):
        deadline = time.monotonic() + 30
        while not any(g.end for g in gaps) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not list(out.glob("*.part"))
    [gap] = [g for g in gaps if g.end]
    assert gap.start == part_start and gap.end == segments[0].start and "killed" in gap.reason
    lines = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    [discarded] = [e for e in lines if e["type"] == "discarded"]
    assert discarded["path"] == part.name and discarded["bytes"] > 0 and discarded["reason"]
    listed, listed_gaps = read_index(out)
    assert [g["start"] for g in listed_gaps] == [part_start.isoformat()]
    assert all(decoded_frames(out / s["path"]) == s["packets"] for s in listed)


def _small_disk(limit: int):
    """A child process whose files cannot grow past ``limit`` bytes: its writes then fail with
    EFBIG as on a full disk (SIGXFSZ ignored, which would otherwise kill it)."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_segments_lost_to_a_full_disk_are_counted_as_gaps(rtsp_camera, tmp_path):
    """Disk full: no segment could be finished, yet the gaps recorded were only the half
    second of each reconnect (from the last picture received, which never reached the disk), so
    the health page showed a camera with a few seconds of gaps that had recorded nothing. Now
    each lost segment is a gap too: the gaps join up into one unbroken stretch."""
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                             "--out", str(out), "--segment-s", "5", "--backoff-max-s", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_small_disk(300_000))
    told = []  # a drop's gap is told open at the drop, then closed (the same start) at the reconnect
    try:
        while sum(1 for e in told if e.get("end")) < 4:  # two lost segments, two drops
            told.append(json.loads(proc.stdout.readline()))
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert all(e["type"] == "gap" for e in told), told
    lines = [e for e in told if e["end"]]
    assert {e["start"] for e in told if not e["end"]} <= {e["start"] for e in lines}, told
    lost = [e for e in lines if e["reason"].startswith("segment ")]
    assert len(lost) == 2 and "File too large" in lost[0]["reason"]
    spans = sorted((e["start"], e["end"]) for e in lines)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), spans  # no stretch unaccounted for
    assert not list(out.glob("*.mp4"))


def test_a_full_disk_that_refuses_the_index_too_still_reports_the_gaps(rtsp_camera, tmp_path):
    """With the disk full the index could not be appended to either: the OSError ended the
    connection before ``on_gap`` (the database, with ``--camera``; stdout here) was told, so the
    service never learnt of the lost footage. The index's failure is logged; the gaps still go out."""
    out = tmp_path / "rec"
    out.mkdir()
    limit = 300_000
    (out / "index.jsonl").write_text("x" * (limit - 1) + "\n")  # full: not one more line fits
    proc = subprocess.Popen([sys.executable, "-m", "civicwatch.cli", "record", "--url", rtsp_camera.url,
                             "--out", str(out), "--segment-s", "5", "--backoff-max-s", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_small_disk(limit))
    stopper = threading.Timer(20, proc.kill)  # nothing printed: readline returns "" then
    stopper.start()
    try:
        first = json.loads(proc.stdout.readline() or "null")
    finally:
        stopper.cancel()
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert first is not None and first["type"] == "gap" and first["end"], err[-2000:]
    assert "entry not written" in err
