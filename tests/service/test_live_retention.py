"""Rolling-footage retention and what it used to leave behind: unreadable segments a recorder set
aside (``*.mp4.unreadable``, no database row) and the recording folders' ``index.jsonl``."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

from sqlalchemy import select

from detector.media.recorder import INDEX_NAME, Gap, Segment, segment_name
from service.live import retention
from service.live import segments as live
from service.models import Job, LiveSegment, StreamGap, Upload, utcnow

from .test_live_earlier_segments import _restart


def _segment(folder, start, connection: int, sequence: int, size: int = 1000, on_disk: bool = True) -> Segment:
    path = folder / segment_name(start)
    if on_disk:
        path.write_bytes(b"\0" * size)
    return Segment(path, start, start + timedelta(seconds=10), 10.0, connection, sequence, 250, size, "length")


def _registered_done(factory, settings, cam, segment: Segment) -> None:  # noqa: ANN001
    """A segment in the database whose job is done: retention may delete it."""
    live.register_segment(factory, settings, cam, segment, "run1")
    with factory() as db:
        upload = Upload(path=f"live/{uuid.uuid4().hex}.mp4", filename="w.mp4", sha256=uuid.uuid4().hex * 2, size=1,
                        camera_id=cam)
        db.add(upload)
        db.flush()
        job = Job(upload_id=upload.id, state="done")
        db.add(job)
        db.flush()
        row = db.scalar(select(LiveSegment).where(LiveSegment.path == live.relative_path(settings, segment.path)))
        row.job_id = job.id
        db.commit()


def _aside(folder, start, size: int = 1000, written=None):  # noqa: ANN001, ANN202
    """An unreadable segment as a recorder sets it aside; ``written``: its last write."""
    path = folder / (segment_name(start) + ".unreadable")
    path.write_bytes(b"\0" * size)
    if written is not None:
        os.utime(path, (written.timestamp(), written.timestamp()))
    return path


def test_unreadable_segments_set_aside_count_in_the_budget_and_go_oldest_first_among_the_segments(
        env, camera, monkeypatch):
    """Before, retention went by database rows only: a set-aside file stayed for ever and the
    budget did not count it."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    first, second = _segment(folder, t0, 1, 1), _segment(folder, t0 + timedelta(seconds=20), 2, 1)
    for seg in (first, second):
        _registered_done(factory, settings, cam, seg)
    aside = _aside(folder, t0 + timedelta(seconds=10))

    report = retention.sweep(factory, settings)  # all of it within the retention period, no budget
    assert report.deleted == [] and report.kept_bytes == 3000

    report = retention.sweep(factory, settings.model_copy(update={"live_disk_budget_bytes": 1000}))
    assert report.deleted == [live.relative_path(settings, first.path), aside.relative_to(env.data_dir).as_posix()]
    assert report.freed_bytes == 2000 and report.kept_bytes == 1000
    assert not first.path.exists() and not aside.exists() and second.path.exists()


def test_unreadable_segments_go_after_the_retention_period_and_nothing_not_ours_is_touched(env, tmp_path):
    """Its age counts from the later of the time in its name and its last write (about its end).
    A name a recorder does not give, a symbolic link (to a file or a folder elsewhere) and anything
    outside ``data_dir/live`` stay, whatever their age."""
    factory, settings = env.app.state.session_factory, env.settings
    folder = settings.live_dir / "cam-x" / "segments"
    folder.mkdir(parents=True)
    now = utcnow().replace(microsecond=0)
    old = now - timedelta(days=8)
    gone = _aside(folder, old, size=700, written=old)
    rewritten = _aside(folder, old + timedelta(minutes=1), size=11, written=now - timedelta(days=6))
    recent = _aside(folder, now - timedelta(days=1), size=13)
    not_ours = [folder / "notes.mp4.unreadable", folder / "20240501T080000Z.mp4.unreadable",
                folder / (segment_name(old).replace(".000Z", ".0Z") + ".unreadable")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = [elsewhere / (segment_name(old) + ".unreadable"),
               env.data_dir / "jobs" / "7" / "run-1" / (segment_name(old) + ".unreadable")]
    for path in (*not_ours, *outside):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"keep")
        os.utime(path, (old.timestamp(), old.timestamp()))
    link = folder / (segment_name(old + timedelta(minutes=2)) + ".unreadable")
    link.symlink_to(outside[0])
    (settings.live_dir / "cam-y").symlink_to(elsewhere, target_is_directory=True)

    report = retention.sweep(factory, settings, now=now)
    assert report.deleted == [gone.relative_to(env.data_dir).as_posix()] and report.freed_bytes == 700
    assert report.kept_bytes == 11 + 13
    assert not gone.exists() and rewritten.exists() and recent.exists()
    assert all(p.read_bytes() == b"keep" for p in (*not_ours, *outside)) and link.is_symlink()

    report = retention.sweep(factory, settings, now=now + timedelta(days=2))
    assert report.deleted == [rewritten.relative_to(env.data_dir).as_posix()]
    assert all(p.read_bytes() == b"keep" for p in (*not_ours, *outside)) and link.is_symlink()


def test_retention_trims_the_index_and_the_next_recorder_registers_nothing_again(env, camera, monkeypatch):
    """Before, ``index.jsonl`` grew for as long as the camera was recorded. The lines about what
    retention deleted go; a recorder started afterwards registers nothing again from the rest."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow().replace(microsecond=0)
    old, recent = now - timedelta(days=10), now - timedelta(minutes=10)
    lines: list[dict] = []
    old_segments = [_segment(folder, old + timedelta(seconds=10 * n), 1, n + 1) for n in range(3)]
    lines += [s.to_json() for s in old_segments]
    drop = Gap(old_segments[-1].end, None, "stream ended")
    lines += [drop.to_json(), Gap(drop.start, recent, "stream ended").to_json()]
    aside = _aside(folder, recent - timedelta(days=9), written=recent - timedelta(days=9))
    lines.append({"type": "unreadable", "path": aside.name.removesuffix(".unreadable"), "set_aside_as": aside.name,
                  "bytes": 1000, "start": (recent - timedelta(days=9)).isoformat(), "reason": "no pictures in it"})
    new_segments = [_segment(folder, recent + timedelta(seconds=10 * n), 2, n + 1) for n in range(2)]
    lines += [s.to_json() for s in new_segments]
    (folder / INDEX_NAME).write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    for seg in (*old_segments, *new_segments):
        _registered_done(factory, settings, cam, seg)
    live.register_gap(factory, cam, Gap(drop.start, recent, "stream ended"))

    report = retention.sweep(factory, settings, now=now)
    assert sorted(report.deleted) == sorted([live.relative_path(settings, s.path) for s in old_segments]
                                            + [aside.relative_to(env.data_dir).as_posix()])
    # all before the last deleted segment's line: it stays (the end of what the folder held then)
    assert report.index_lines_trimmed == 2
    kept = [json.loads(line) for line in (folder / INDEX_NAME).read_text(encoding="utf-8").splitlines()]
    assert kept == [json.loads(json.dumps(x)) for x in lines[2:]]

    with factory() as db:
        rows = db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == cam)).all()
        gaps = db.execute(select(StreamGap.start_at, StreamGap.end_at).where(StreamGap.camera_id == cam)).all()
    _restart(factory, settings, cam)
    with factory() as db:
        assert db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == cam)).all() == rows
        assert db.execute(select(StreamGap.start_at, StreamGap.end_at)
                          .where(StreamGap.camera_id == cam)).all() == gaps
    assert '"recovered"' not in (folder / INDEX_NAME).read_text(encoding="utf-8")

    assert retention.sweep(factory, settings, now=now).index_lines_trimmed == 0  # once
