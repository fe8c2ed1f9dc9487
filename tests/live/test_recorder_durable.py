"""A finished segment is on the disk before its name and its index line say it is finished; one
that still cannot be read (written by a recorder before that) is set aside once and its time
counted as a gap."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av

from detector.media import recorder as rec_mod
from detector.media.recorder import (INDEX_NAME, Recorder, RecorderConfig, Segment,
                                     _SegmentWriter, read_index, segment_name)

from .helpers import SHORT_CLIP, free_port

UNREADABLE_SUFFIX = ".unreadable"  # what an unreadable segment is renamed with


def test_a_finished_segment_is_fsynced_before_its_rename_and_its_folder_and_index_line_after(
        footage_dir, tmp_path, monkeypatch):
    """A power cut can only be simulated, not caused, in a test: what is observed is that os.fsync
    is called on the file while it is still ``*.part``, on the folder once the final name is there,
    and on the index once its line is written. Before, none was: the rename could reach the disk
    before the data, leaving a renamed, listed segment with nothing in it."""
    calls: list[tuple[str, bool, str]] = []
    real_fsync = os.fsync
    writer_box: list[_SegmentWriter] = []

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        w = writer_box[0]
        index = tmp_path / INDEX_NAME
        calls.append((target, w.final.exists(), index.read_text() if index.exists() else ""))
        real_fsync(fd)

    monkeypatch.setattr(rec_mod.os, "fsync", fsync)
    recorder = Recorder(RecorderConfig("rtsp://unused/", tmp_path))
    with av.open(str(footage_dir / SHORT_CLIP)) as clip:
        stream = clip.streams.video[0]
        packets = [p for p in clip.demux(stream) if p.pts is not None]
        wall = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
        writer = _SegmentWriter(tmp_path, stream, packets[0], wall, 1, 1)
        writer_box.append(writer)
        for p in packets:
            writer.write(p)
        segment = recorder._finish(writer, None, "stop", None)
    assert segment is not None and segment.path.exists()
    part, folder, index = str(writer.part), str(tmp_path), str(tmp_path / INDEX_NAME)
    targets = [c[0] for c in calls]
    assert part in targets and folder in targets and index in targets
    at_part = calls[targets.index(part)]
    assert at_part[1] is False  # the data before the rename
    assert targets.index(part) < targets.index(folder)
    assert calls[targets.index(folder)][1] is True  # the folder after it
    at_index = calls[max(i for i, t in enumerate(targets) if t == index)]
    assert segment.path.name in at_index[2]  # the index after its line was written


def _listed(folder: Path, start: datetime, seconds: float = 10.0) -> Segment:
    path = folder / segment_name(start)
    path.write_bytes(b"\0" * 10)  # listed segments are not read at a start
    seg = Segment(path, start, start + timedelta(seconds=seconds), seconds, 1, 1, 250, 10, "length")
    with (folder / INDEX_NAME).open("a", encoding="utf-8") as f:
        f.write(json.dumps(seg.to_json()) + "\n")
    return seg


def test_an_unreadable_segment_is_set_aside_once_and_its_time_is_a_gap(tmp_path):
    """Before, it stayed, was read again with a warning at every start, and the time it should have
    held showed as recorded. Now it is renamed ``*.unreadable`` (kept; retention deletes it later), an
    ``unreadable`` line says so, and from its start (its name) to the next segment is a gap."""
    t0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    _listed(tmp_path, t0)
    bad_at = t0 + timedelta(seconds=10)
    bad = tmp_path / segment_name(bad_at)
    bad.write_bytes(b"\0" * 1000)  # renamed, its data never reached the disk
    after = _listed(tmp_path, t0 + timedelta(seconds=20))

    recorder = Recorder(RecorderConfig("rtsp://unused/", tmp_path))
    assert [e.segment.path.name for e in recorder.earlier_segments()] == [segment_name(t0), after.path.name]
    gaps = recorder.earlier_gaps()
    recorder.release()
    assert [(g.start, g.end) for g in gaps] == [(bad_at, after.start)]
    assert bad.name in gaps[0].reason and "could not be read" in gaps[0].reason
    assert not bad.exists()
    aside = tmp_path / (bad.name + UNREADABLE_SUFFIX)
    assert aside.read_bytes() == b"\0" * 1000  # kept as it was: evidence
    lines = [json.loads(line) for line in (tmp_path / INDEX_NAME).read_text().splitlines()]
    assert [(x["type"], x.get("set_aside_as")) for x in lines if x["type"] == "unreadable"] == [
        ("unreadable", aside.name)]
    assert [(g["start"], g["end"]) for g in read_index(tmp_path)[1]] == [(bad_at.isoformat(), after.start.isoformat())]

    again = Recorder(RecorderConfig("rtsp://unused/", tmp_path))  # once: the next start finds nothing to do
    assert [(g.start, g.end) for g in again.earlier_gaps()] == [(bad_at, after.start)]
    again.release()
    assert (tmp_path / INDEX_NAME).read_text().count('"unreadable"') == 1
    assert len(read_index(tmp_path)[1]) == 1


def test_an_unreadable_last_segment_starts_the_next_recordings_gap_and_is_named(tmp_path, monkeypatch):
    """Nothing after it says where it ended: the next recording's first gap (the time no recorder
    recorded) runs from the last readable segment's end and says that segment was unreadable."""
    t0 = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    last = _listed(tmp_path, t0)
    bad = tmp_path / segment_name(last.end)
    bad.write_bytes(b"\0" * 1000)
    recorder = Recorder(RecorderConfig(f"rtsp://127.0.0.1:{free_port()}/cam", tmp_path))
    seen = []
    stop = threading.Event()

    def connection(_n, _stop, gap_start, gap_reason, slack_s=None):  # noqa: ANN001, ANN202
        seen.append((gap_start, gap_reason, slack_s))
        stop.set()
        return None, None, "stop"

    monkeypatch.setattr(recorder, "_record_connection", connection)
    recorder.run(stop)
    (gap_start, reason, slack_s), = seen
    assert gap_start == last.end and slack_s is None  # lost footage: a gap however soon it resumes
    assert "no recorder was running" in reason and bad.name in reason and "could not be read" in reason
    assert (tmp_path / (bad.name + UNREADABLE_SUFFIX)).exists() and not bad.exists()
