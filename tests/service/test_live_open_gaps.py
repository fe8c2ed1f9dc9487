"""A camera's open gap: shown while it lasts, and closed when the footage resumes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from detector.media.recorder import Gap, Segment
from service.live import segments as live
from service.live.health import camera_health
from service.models import StreamGap, utcnow


def _gaps(factory, cam):  # noqa: ANN001
    with factory() as db:
        return [(g.start_at, g.end_at) for g in db.scalars(select(StreamGap).where(StreamGap.camera_id == cam)
                                                           .order_by(StreamGap.start_at))]


def test_an_open_gap_is_down_since_and_closes_with_the_reconnect(env, camera):
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    dropped = utcnow() - timedelta(minutes=5)
    assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://127.0.0.1:9/c"}).status_code == 200
    live.heartbeat(factory, cam, False, dropped, "EOFError", "host")
    live.register_gap(factory, cam, Gap(dropped, None, "EOFError"))  # the recorder tells it at the drop
    with factory() as db:
        h = {x.camera_id: x for x in camera_health(db, settings)}[cam]
    assert not h.online and h.gap_open_since == dropped and h.gaps == 0
    back = dropped + timedelta(seconds=40)
    live.register_gap(factory, cam, Gap(dropped, back, "EOFError"))  # the reconnect closes the same row
    assert _gaps(factory, cam) == [(dropped, back)]


def test_a_gap_left_open_by_a_stopped_recorder_is_closed_where_the_footage_resumes(env, camera, tmp_path):
    """A recorder stopped while its camera was down leaves an open gap; the next recorder knows
    nothing of it. Before, that row stayed open for good: the health page's "down since" named it
    at every later outage, and its time was never counted."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    t0 = utcnow() - timedelta(hours=1)
    live.register_gap(factory, cam, Gap(t0, None, "recorder stopped while the stream was down"))
    # the next recorder: never connected since its start (a gap of its own), then the camera is back
    restarted, back = t0 + timedelta(minutes=10), t0 + timedelta(minutes=12)
    live.register_gap(factory, cam, Gap(restarted, None, "OSError: Connection refused"))
    live.register_gap(factory, cam, Gap(restarted, back, "OSError: Connection refused"))
    assert _gaps(factory, cam) == [(t0, restarted), (restarted, back)]  # no overlap: 12 min in all

    # and a recorder that connects at once (no gap of its own) closes it with its first segment
    t1 = t0 + timedelta(minutes=30)
    live.register_gap(factory, cam, Gap(t1, None, "recorder stopped while the stream was down"))
    folder = live.segments_dir(settings, cam)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "seg.mp4"
    path.write_bytes(b"\0")
    start = t1 + timedelta(minutes=3)
    live.register_segment(factory, settings, cam, Segment(path, start, start + timedelta(seconds=10), 10.0, 1, 1,
                                                          250, 1, "length"), "run")
    assert _gaps(factory, cam)[-1] == (t1, start)
    with factory() as db:
        h = {x.camera_id: x for x in camera_health(db, settings)}[cam]
    assert h.gap_open_since is None and h.gaps == 3
