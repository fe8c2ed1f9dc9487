"""A segment the database could not take when it was finished is registered later, not lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from detector.media.recorder import Gap, Segment
from service.live import segments as live
from service.live.recorders import CameraRecorder
from service.models import LiveSegment, StreamGap, utcnow


def test_a_segment_the_database_refused_is_registered_at_the_next_try(env, camera, monkeypatch):
    """Before, a segment whose registration failed (PostgreSQL restarting, a network blip between
    the recorder's machine and the database) was logged and forgotten: its footage stayed on disk
    and was never analysed. Now it waits and is registered, in order, at the next try (the next
    segment, gap or heartbeat, or the stop)."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    rec = CameraRecorder(factory, settings, cam, "rtsp://127.0.0.1:9/cam")
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    start = utcnow() - timedelta(minutes=2)

    def segment(n: int) -> Segment:
        path = folder / f"seg-{n}.mp4"
        path.write_bytes(b"\0" * 10)
        return Segment(path, start + timedelta(seconds=10 * n), start + timedelta(seconds=10 * n + 10), 10.0,
                       connection=1, sequence=n, packets=250, bytes=10, ended_by="length")

    register = live.register_segment
    down = {"on": True}

    def flaky(*args, **kwargs):
        if down["on"]:
            raise ConnectionError("the database is restarting")
        return register(*args, **kwargs)

    monkeypatch.setattr(live, "register_segment", flaky)
    scheduled = []  # windows are cut from real footage: here only that scheduling was asked for
    monkeypatch.setattr(live, "schedule", lambda _factory, _settings, camera_id: scheduled.append(camera_id) or [])
    rec._segment(segment(0))  # the recorder's on_segment: the database is down
    rec._gap(Gap(start + timedelta(seconds=10), start + timedelta(seconds=11), "drop"))
    with factory() as db:
        assert db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == cam)).all() == []
        # the gap waits behind the segment: registered in the order they came
        assert db.scalars(select(StreamGap).where(StreamGap.camera_id == cam)).all() == []
    down["on"] = False
    rec._segment(segment(1))  # the database is back: both segments and the gap are registered
    with factory() as db:
        paths = db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == cam)
                           .order_by(LiveSegment.sequence)).all()
        assert [p.rsplit("/", 1)[-1] for p in paths] == ["seg-0.mp4", "seg-1.mp4"]
        assert len(db.scalars(select(StreamGap).where(StreamGap.camera_id == cam)).all()) == 1
    assert scheduled == [cam]  # the jobs that became possible are queued once the rows are there

    # and with no further segment, the stop (or the next heartbeat) tries again
    down["on"] = True
    rec._segment(segment(2))
    down["on"] = False
    rec.stop()
    with factory() as db:
        assert len(db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == cam)).all()) == 3
