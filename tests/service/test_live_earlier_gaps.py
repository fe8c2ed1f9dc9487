"""Gaps a killed recorder listed in ``index.jsonl`` but never got into the database (they waited in
its retry queue) are registered by the camera's next recorder, once, with their own times; so is
the time of a segment it left that cannot be read."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from detector.media.recorder import Gap, Segment, parse_segment_name, segment_name
from service.live import segments as live
from service.models import StreamGap, utcnow

from .test_live_earlier_segments import _restart


def _gaps(factory, cam):  # noqa: ANN001
    with factory() as db:
        return db.execute(select(StreamGap.id, StreamGap.start_at, StreamGap.end_at, StreamGap.reason)
                          .where(StreamGap.camera_id == cam).order_by(StreamGap.start_at)).all()


def test_gaps_a_killed_recorder_left_unregistered_are_registered_once_by_the_next(env, camera, monkeypatch):
    """Before, only its segments were: a gap in its queue was lost with it, an open one the database
    had stayed open until the next segment closed it at the wrong time, and the camera's footage
    showed as unbroken there."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=10)

    def at(s: float):  # noqa: ANN202
        return t0 + timedelta(seconds=s, microseconds=250)

    def seg(n: int, start: float) -> Segment:
        path = folder / segment_name(at(start))
        path.write_bytes(b"\0" * 10)
        return Segment(path, at(start), at(start + 10), 10.0, n, 1, 250, 10, "drop")

    one, two, three = seg(1, 0), seg(2, 20), seg(3, 50)
    a_open, a = Gap(at(10), None, "stream ended"), Gap(at(10), at(20), "stream ended")
    b_open, b = Gap(at(30), None, "read timeout"), Gap(at(30), at(40), "read timeout")
    bad = folder / segment_name(at(45))  # renamed by a recorder that did not fsync: its data lost
    bad.write_bytes(b"\0" * 1000)
    with (folder / "index.jsonl").open("a", encoding="utf-8") as f:
        for item in (one, a_open, a, two, b_open, b, three):
            f.write(json.dumps(item.to_json()) + "\n")
    # the killed recorder's database took segment 1 and gap b while open; a, b's close and the rest
    # waited in its queue
    live.register_segment(factory, settings, cam, one, "killedrun")
    live.register_gap(factory, cam, b_open)

    _restart(factory, settings, cam)
    rows = _gaps(factory, cam)
    assert [(r.start_at, r.end_at) for r in rows] == [(at(10), at(20)), (at(30), at(40)),
                                                         (parse_segment_name(bad.name), at(50))]
    assert rows[0].reason == "stream ended" and rows[1].reason == "read timeout"
    assert bad.name in rows[2].reason and "could not be read" in rows[2].reason
    assert not bad.exists() and (folder / (bad.name + ".unreadable")).exists()

    _restart(factory, settings, cam)  # once: a later start registers nothing again
    assert _gaps(factory, cam) == rows
