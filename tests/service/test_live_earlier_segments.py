"""Segments a killed recorder finished but never registered are registered by the next recorder of
the camera, once, with their own times; the segment it was writing (``*.part``) never is."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import av
from sqlalchemy import select

from detector.media.recorder import Segment, parse_segment_name, read_index, segment_name
from service.live import segments as live
from service.live.recorders import CameraRecorder
from service.models import LiveSegment, utcnow

from .helpers import SHORT_CLIP, dead_stream_url


def _rows(factory, cam):  # noqa: ANN001
    with factory() as db:
        return db.scalars(select(LiveSegment).where(LiveSegment.camera_id == cam).order_by(LiveSegment.start_at)).all()


def _restart(factory, settings, cam) -> None:  # noqa: ANN001
    rec = CameraRecorder(factory, settings, cam, dead_stream_url(), connect_timeout_s=1, backoff_initial_s=0.1,
                         backoff_max_s=0.2)
    rec.start()
    rec.stop()


def test_segments_a_killed_recorder_left_unregistered_are_registered_once_by_the_next(env, camera, footage_dir,
                                                                                       monkeypatch):
    """Before, a segment renamed into place (finished) whose row the database had not taken when
    its recorder was killed (SIGKILL, an OOM kill, a power cut; or one waiting in the retry queue)
    stayed on disk and in ``index.jsonl`` only, and was never analysed."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    scheduled = []  # windows are cut from real footage: here only that scheduling was asked for
    monkeypatch.setattr(live, "schedule", lambda _factory, _settings, camera_id: scheduled.append(camera_id) or [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=10)

    def listed(n: int) -> Segment:  # 10 s segments of the killed recorder's first recording
        start = t0 + timedelta(seconds=10 * (n - 1), microseconds=250)
        path = folder / segment_name(start)
        path.write_bytes(b"\0" * 10)
        return Segment(path, start, start + timedelta(seconds=10), 10.0, connection=1, sequence=n, packets=250,
                       bytes=10, ended_by="length")

    # the killed recorder: segment 1 registered; 2 finished and listed, not registered yet; 3 renamed
    # into place but not listed yet (killed between the two); 4 half written
    one, two = listed(1), listed(2)
    with (folder / "index.jsonl").open("a", encoding="utf-8") as f:
        for seg in (one, two):
            f.write(json.dumps(seg.to_json()) + "\n")
        f.write('{"type": "segment", "path": "torn')  # the kill tore the last line
    live.register_segment(factory, settings, cam, one, "killedrun")
    three_at = parse_segment_name(segment_name(two.end))  # its name says when it began, to the millisecond
    three = folder / segment_name(three_at)
    shutil.copyfile(footage_dir / SHORT_CLIP, three)
    part = folder / (segment_name(three_at + timedelta(seconds=2.3)) + ".part")
    part.write_bytes(b"\0" * 1000)
    unreadable = folder / segment_name(three_at + timedelta(minutes=2))  # renamed, its data never reached the disk
    unreadable.write_bytes(b"\0" * 1000)
    with av.open(str(footage_dir / SHORT_CLIP)) as clip:
        packets = [p for p in clip.demux(clip.streams.video[0]) if p.pts is not None]
        tb = clip.streams.video[0].time_base
        clip_s = float((max(p.pts + p.duration for p in packets) - min(p.pts for p in packets)) * tb)

    _restart(factory, settings, cam)
    rows = _rows(factory, cam)
    assert [r.path.rsplit("/", 1)[-1] for r in rows] == [one.path.name, two.path.name, three.name]
    # with their own times, in the recording they belong to (its windows join them)
    assert (rows[1].start_at, rows[1].end_at, rows[1].duration_s) == (two.start, two.end, 10.0)
    assert rows[2].start_at == three_at and abs(rows[2].duration_s - clip_s) < 1e-3
    assert rows[2].end_at == three_at + timedelta(seconds=rows[2].duration_s)
    assert rows[2].bytes == sum(p.size for p in packets)
    assert [(r.connection, r.sequence) for r in rows] == [("killedrun-1", 1), ("killedrun-1", 2), ("killedrun-1", 3)]
    assert rows[2].ended_by == "killed"
    assert scheduled  # their jobs were asked for
    assert not part.exists()  # discarded, never registered
    # the unlisted one is listed now, so the next start need not read it again
    assert [s["path"] for s in read_index(folder)[0]] == [one.path.name, two.path.name, three.name]

    _restart(factory, settings, cam)  # registered once: a later start registers nothing again
    assert [r.id for r in _rows(factory, cam)] == [r.id for r in rows]


def test_a_recording_an_earlier_recorder_began_unregistered_gets_a_connection_of_its_own(env, camera, monkeypatch):
    """Its connection numbers count the killed recorder's recordings: taken as this recorder's,
    its segments would join this recorder's own recording 1, and windows would mix the two."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = utcnow() - timedelta(minutes=10)
    with (folder / "index.jsonl").open("a", encoding="utf-8") as f:
        for n in (1, 2):
            start = t0 + timedelta(seconds=10 * (n - 1))
            path = folder / segment_name(start)
            path.write_bytes(b"\0")
            f.write(json.dumps(Segment(path, start, start + timedelta(seconds=10), 10.0, 1, n, 250, 1,
                                       "length").to_json()) + "\n")
    _restart(factory, settings, cam)
    rows = _rows(factory, cam)
    assert [r.sequence for r in rows] == [1, 2]
    assert rows[0].connection == rows[1].connection and not rows[0].connection.endswith("-1")


def test_earlier_segments_wait_for_a_database_that_does_not_answer_and_go_first(env, camera, monkeypatch):
    """The database is down when the recorder starts: they wait, like any segment it refused, and
    are registered ahead of the new recorder's own segments once it answers."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = utcnow() - timedelta(minutes=10)
    old = Segment(folder / segment_name(t0), t0, t0 + timedelta(seconds=10), 10.0, 1, 1, 250, 1, "length")
    old.path.write_bytes(b"\0")
    (folder / "index.jsonl").write_text(json.dumps(old.to_json()) + "\n")
    rec = CameraRecorder(factory, settings, cam, dead_stream_url())
    rec.recorder.claim()  # what ``start`` does, without recording
    rec._earlier = rec.recorder.earlier_segments()

    def down():
        raise ConnectionError("the database is restarting")

    rec.factory = down
    rec._register()  # the first heartbeat: nothing can be compared yet
    rec.factory = factory
    assert _rows(factory, cam) == []
    start = t0 + timedelta(minutes=5)
    new = Segment(folder / segment_name(start), start, start + timedelta(seconds=10), 10.0, 1, 1, 250, 1, "length")
    new.path.write_bytes(b"\0")
    rec._segment(new)  # the database is back
    with factory() as db:
        ids = {r.path.rsplit("/", 1)[-1]: r.id for r in db.scalars(select(LiveSegment)
                                                                   .where(LiveSegment.camera_id == cam))}
    assert ids[old.path.name] < ids[new.path.name]  # the earlier one first
    rec.recorder.release()
