"""A recording folder's ``index.jsonl`` is trimmed of the lines about deleted footage before the
cutoff (it grew for as long as the camera was recorded), atomically and under the lock the
recorder's appends take; what a recorder reads back at its start is what it read before, less
those lines."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from detector.media.index_trim import trim_index
from detector.media.recorder import INDEX_NAME, Gap, Recorder, RecorderConfig, Segment, index_lock, segment_name

T = datetime(2024, 5, 8, 0, 0, tzinfo=timezone.utc)  # the cutoff in these tests


def _at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


class Folder:
    """An index written line by line as recorders write it, with segment files on disk or not."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def line(self, entry: dict | str) -> None:
        with (self.path / INDEX_NAME).open("a", encoding="utf-8") as f:
            f.write((entry if isinstance(entry, str) else json.dumps(entry)) + "\n")

    def segment(self, start: datetime, connection: int, sequence: int, on_disk: bool,
                ended_by: str = "length", seconds: float = 10.0) -> Segment:
        path = self.path / segment_name(start)
        if on_disk:
            path.write_bytes(b"\0" * 10)  # listed segments are not read at a start
        seg = Segment(path, start, start + timedelta(seconds=seconds), seconds, connection, sequence, 250, 10,
                      ended_by)
        self.line(seg.to_json())
        return seg

    def gap(self, gap: Gap) -> Gap:
        self.line(gap.to_json())
        return gap

    def text(self) -> str:
        return (self.path / INDEX_NAME).read_text(encoding="utf-8")


def _read_back(folder: Path) -> tuple[list[tuple[str, str | None]], list[Gap], datetime | None, str]:
    """What a recorder starting on ``folder`` reads from it: its segments (name, the one it
    follows), its gaps, the end of its last segment; and the index after that read."""
    recorder = Recorder(RecorderConfig("rtsp://unused/", folder))
    try:
        segments = [(e.segment.path.name, e.follows.name if e.follows else None) for e in recorder.earlier_segments()]
        gaps = recorder.earlier_gaps()
        end = recorder._earlier_end
    finally:
        recorder.release()
    return segments, gaps, end, (folder / INDEX_NAME).read_text(encoding="utf-8")


def test_the_lines_about_deleted_footage_before_the_cutoff_go_and_a_recorder_reads_the_rest_as_before(tmp_path):
    """Before, nothing ever left the index: a line per segment and gap for as long as the camera
    was recorded, all read at every start of its recorder."""
    f = Folder(tmp_path / "rec")
    day_ago = T - timedelta(days=1)
    # a day before the cutoff: a recording whose files retention deleted, a drop, a killed recorder
    f.segment(day_ago, 1, 1, on_disk=False)
    f.gap(Gap(day_ago + timedelta(seconds=10), None, "read timeout"))  # its close lost: ends at the next segment
    f.segment(day_ago + timedelta(seconds=20), 1, 2, on_disk=False, ended_by="drop")
    f.gap(Gap(day_ago + timedelta(seconds=30), None, "stream ended"))
    f.gap(Gap(day_ago + timedelta(seconds=30), _at(-60), "stream ended"))
    f.line({"type": "discarded", "path": segment_name(day_ago + timedelta(seconds=40)) + ".part", "bytes": 9,
            "start": (day_ago + timedelta(seconds=40)).isoformat(), "reason": "killed"})
    f.line('{"type": "segment", "path": "torn')  # a killed recorder's torn line, ended by the next
    f.line({"type": "unreadable", "path": segment_name(day_ago + timedelta(seconds=50)),
            "set_aside_as": segment_name(day_ago + timedelta(seconds=50)) + ".unreadable", "bytes": 9,
            "start": (day_ago + timedelta(seconds=50)).isoformat(), "reason": "no pictures in it"})
    # a recording across the cutoff: deleted up to it, on disk from the one that ends at it
    for n in range(1, 6):
        f.segment(_at(-70 + 10 * n), 2, n, on_disk=False)
    last_gone = f.path / segment_name(_at(-20))
    f.segment(_at(-10), 2, 6, on_disk=True)
    f.segment(_at(0), 2, 7, on_disk=True, ended_by="drop")
    f.gap(Gap(_at(10), None, "stream ended"))
    f.gap(Gap(_at(10), _at(3600), "stream ended"))
    f.segment(_at(3600), 3, 1, on_disk=True)
    lines = f.text().splitlines(keepends=True)

    segments, gaps, end, _ = _read_back(f.path)
    assert segments == [(segment_name(_at(-10)), last_gone.name), (segment_name(_at(0)), segment_name(_at(-10))),
                        (segment_name(_at(3600)), None)]
    assert [g.start for g in gaps] == [day_ago + timedelta(seconds=10), day_ago + timedelta(seconds=30), _at(10)]

    result = trim_index(f.path, T)
    # everything before the last deleted segment line of the recording across the cutoff
    kept_from = next(i for i, line in enumerate(lines) if last_gone.name in line)
    assert result.dropped == kept_from and result.dropped_bytes == sum(map(len, lines[:kept_from]))
    assert f.text() == "".join(lines[kept_from:])
    assert not (f.path / (INDEX_NAME + ".trim")).exists()

    segments_after, gaps_after, end_after, text_after = _read_back(f.path)
    assert segments_after == segments  # the one it follows still named: its line stayed
    assert gaps_after == [g for g in gaps if g.start >= T - timedelta(seconds=60)]  # the old ones do not come back
    assert end_after == end
    assert text_after == "".join(lines[kept_from:])  # nothing came back as unlisted ("recovered") or as a gap

    assert trim_index(f.path, T).dropped == 0  # once
    assert f.text() == "".join(lines[kept_from:])


def test_a_line_about_footage_still_on_disk_or_not_understood_ends_what_may_go(tmp_path):
    """A segment whose file is still there (retention kept it: its job had not finished) keeps its
    line and everything after it, as does an unreadable segment still kept, a line of a type this
    version does not know, and a torn last line."""
    for name, blocker in (("kept", "segment"), ("aside", "unreadable"), ("unknown", "unknown")):
        f = Folder(tmp_path / name)
        f.segment(_at(-3600), 1, 1, on_disk=False)
        if blocker == "segment":
            f.segment(_at(-3590), 1, 2, on_disk=True)
        elif blocker == "unreadable":
            aside = segment_name(_at(-3590)) + ".unreadable"
            (f.path / aside).write_bytes(b"\0")
            f.line({"type": "unreadable", "path": aside.removesuffix(".unreadable"), "set_aside_as": aside,
                    "start": _at(-3590).isoformat(), "reason": "no pictures in it"})
        else:
            f.line({"type": "checkpoint", "start": _at(-3590).isoformat()})
        for n in range(3, 6):
            f.segment(_at(-3600 + 10 * n), 1, n, on_disk=False)
        before = f.text()
        assert trim_index(f.path, T).dropped == 0, name
        assert f.text() == before, name

    f = Folder(tmp_path / "torn")
    for n in range(1, 4):
        f.segment(_at(-3600 + 10 * n), 1, n, on_disk=False)
    with (f.path / INDEX_NAME).open("a", encoding="utf-8") as out:
        out.write('{"type": "gap", "start": "')  # a recorder killed mid-line; nobody ended it yet
    lines = f.text().splitlines(keepends=True)
    assert trim_index(f.path, T).dropped == 2
    assert f.text() == "".join(lines[2:])  # the last segment line and the torn tail, as they were


def test_an_index_is_rewritten_only_once_its_first_line_is_past_the_cutoff_by_the_slack(tmp_path):
    """Retention sweeps every minute: trimming a minute of lines each time would rewrite the whole
    index every minute."""
    f = Folder(tmp_path / "rec")
    for n in range(1, 5):
        f.segment(_at(-3600 * 5 + 10 * n), 1, n, on_disk=False)
    before = f.text()
    assert trim_index(f.path, T, slack=timedelta(hours=6)).dropped == 0
    assert f.text() == before
    assert trim_index(f.path, T, slack=timedelta(hours=4)).dropped == 3


def test_a_recorder_started_after_all_its_footage_was_deleted_still_counts_the_time_since_as_a_gap(
        tmp_path, monkeypatch):
    """The last segment's line stays: the next recorder's first gap (no recorder was running)
    begins at its end, as it did before the trim."""
    f = Folder(tmp_path / "rec")
    segs = [f.segment(_at(-86400 + 10 * n), 1, n, on_disk=False) for n in range(1, 4)]
    f.gap(Gap(segs[-1].end, None, "recorder stopped while the stream was down"))
    assert trim_index(f.path, T).dropped == 2
    recorder = Recorder(RecorderConfig("rtsp://127.0.0.1:9/cam", f.path))
    seen = []
    stop = threading.Event()

    def connection(_n, _stop, gap_start, gap_reason, slack_s=None):  # noqa: ANN001, ANN202
        seen.append((gap_start, gap_reason))
        stop.set()
        return None, None, "stop"

    monkeypatch.setattr(recorder, "_record_connection", connection)
    recorder.run(stop)
    assert seen == [(segs[-1].end, "no recorder was running")]


def test_a_trim_does_not_run_while_a_recorder_appends_and_an_append_waits_for_a_trim(tmp_path):
    """Both hold the folder's index lock: an append to the old file between the trim's read and
    its rename would be lost with the old file."""
    f = Folder(tmp_path / "rec")
    for n in range(1, 5):
        f.segment(_at(-3600 + 10 * n), 1, n, on_disk=False)
    before = f.text()
    recorder = Recorder(RecorderConfig("rtsp://unused/", f.path))
    gap = Gap(_at(60), None, "stream ended")
    with index_lock(f.path) as held:
        assert held
        result = trim_index(f.path, T)  # a recorder is writing: left for the next sweep
        assert result.dropped == 0 and result.skipped and f.text() == before
        appending = threading.Thread(target=recorder._append, args=(gap.to_json(),))
        appending.start()
        time.sleep(0.3)
        assert appending.is_alive() and f.text() == before  # it waits for the lock
    appending.join(5)
    assert not appending.is_alive() and f.text() == before + json.dumps(gap.to_json()) + "\n"
    assert trim_index(f.path, T).dropped == 3


def test_no_line_appended_while_the_index_is_trimmed_again_and_again_is_lost(tmp_path):
    """A recorder appending as fast as it can while the index is trimmed in a loop: every line is
    either in the index or counted as trimmed."""
    f = Folder(tmp_path / "rec")
    for n in range(1, 21):
        f.segment(_at(-7200 + 10 * n), 1, n, on_disk=False)
    recorder = Recorder(RecorderConfig("rtsp://unused/", f.path))
    appended = 300
    done = threading.Event()

    def append() -> None:
        for n in range(appended):
            start = _at(-3600 + n)  # a deleted segment's line before the cutoff: the next trim takes it
            recorder._append(Segment(f.path / segment_name(start), start, start + timedelta(seconds=1), 1.0, 2,
                                     n + 1, 25, 1, "length").to_json())
            if n % 10 == 9:  # a breath now and then, so that trims fall between the appends; without
                time.sleep(0.002)  # it, on a loaded CI machine, all 300 went in during one slow trim
        done.set()

    thread = threading.Thread(target=append)
    thread.start()
    trimmed = rewrites = 0
    while not done.is_set() or rewrites == 0:
        result = trim_index(f.path, T)
        trimmed += result.dropped
        rewrites += bool(result.dropped)
        time.sleep(0.001)
    thread.join()
    trimmed += trim_index(f.path, T).dropped
    left = f.text().splitlines()
    assert rewrites > 1
    assert trimmed + len(left) == 20 + appended
    assert len(left) == 1 and json.loads(left[0])["sequence"] == appended  # the last line stays
