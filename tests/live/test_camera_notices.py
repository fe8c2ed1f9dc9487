"""Camera-state notices (service.live.notices) on the real local Mosquitto broker and a real HTTP
webhook receiver: a camera that loses its stream is announced offline once, after the hold-off,
however often its recorder retries; a flapping camera does not flood; coming back is announced
once it has stayed up; a restart of the service repeats nothing. The recorders' heartbeats are
written into the database with scripted times, as a recorder writes them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta, timezone

import pytest

from event_receivers import BROKER, Receiver, Subscriber

from service import events
from service.config import Settings
from service.db import make_engine, make_session_factory, migrate, session_scope
from service.live.notices import CameraNotices
from service.models import Camera, RecorderStatus, StreamGap

SECRET = "camera-notice-secret"
T0 = datetime(2026, 5, 1, 0, 0, tzinfo=timezone.utc)  # 08:00 in Beijing
CAMERA_FIELDS = {"id", "place", "state", "previous_state", "since", "since_local", "timezone", "reason", "offline_s"}


@pytest.fixture
def prefix() -> str:
    return f"civicwatch-test-{secrets.token_hex(4)}"


@pytest.fixture
def subscriber(prefix):
    sub = Subscriber(f"{prefix}/#")
    yield sub
    sub.client.disconnect()  # first: wakes paho's network loop, so close() need not wait out its 1 s poll
    sub.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(tmp_path, prefix, receiver):
    settings = Settings(
        data_dir=tmp_path / "var",
        mqtt_host=BROKER[0],
        mqtt_port=BROKER[1],
        mqtt_topic_prefix=prefix,
        webhook_urls=[receiver.url],
        webhook_secret=SECRET,
        webhook_backoff_s=0.05,
        live_heartbeat_s=5.0,
        camera_offline_after_s=60.0,
        camera_online_after_s=30.0,
    )
    engine = make_engine(settings)
    migrate(settings, engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        for cid, tz in (("cam-a", "Asia/Shanghai"), ("cam-b", "Asia/Urumqi")):
            db.add(
                Camera(
                    id=cid,
                    kind="fixed",
                    place=f"{cid} crossing",
                    timezone=tz,
                    scene_yaml="camera: x\n",
                    stream_url=f"rtsp://admin:hunter2@10.0.0.9/{cid}",
                )
            )
    yield settings, factory
    events.close_all()
    engine.dispose()


def beat(
    factory,
    camera_id: str,
    at: datetime,
    connected: bool,
    last_packet: datetime | None = None,
    error: str | None = None,
) -> None:
    """What ``service.live.segments.heartbeat`` writes, at a scripted time."""
    with session_scope(factory) as db:
        row = db.get(RecorderStatus, camera_id) or RecorderStatus(camera_id=camera_id)
        row.connected, row.last_packet_at, row.last_error, row.updated_at = connected, last_packet, error, at
        db.add(row)


def gap(factory, camera_id: str, start: datetime, end: datetime) -> None:
    with session_scope(factory) as db:
        db.add(StreamGap(camera_id=camera_id, start_at=start, end_at=end, reason="drop"))


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_offline_once_after_hold_off_and_online_once_after_flapping(world, subscriber, receiver, prefix):
    settings, factory = world
    notices = CameraNotices(factory, settings)
    beat(factory, "cam-a", s(0), True, s(0))
    assert notices.step(s(0)) == []  # first seen online: nothing to announce

    # the stream is lost at 8 s; the recorder retries every few seconds, each heartbeat fresh
    error = "OSError: rtsp://admin:hunter2@10.0.0.9/cam-a: Connection refused"
    for t in range(10, 70, 5):
        beat(factory, "cam-a", s(t), False, s(8), error)
        assert notices.step(s(t)) == [], t  # within the 60 s hold-off
    beat(factory, "cam-a", s(70), False, s(8), error)
    assert [n.event for n in notices.step(s(70))] == ["camera_offline"]
    for t in range(75, 210, 5):  # still down, still retrying: announced once only
        beat(factory, "cam-a", s(t), False, s(8), error)
        assert notices.step(s(t)) == [], t

    # flapping: back at 209 s, lost again at 219 s, back at 228 s
    gap(factory, "cam-a", s(8), s(209))
    beat(factory, "cam-a", s(210), True, s(210))
    assert notices.step(s(210)) == []
    beat(factory, "cam-a", s(220), False, s(219), error)
    assert notices.step(s(220)) == []
    gap(factory, "cam-a", s(219), s(228))
    for t in range(230, 258, 5):
        beat(factory, "cam-a", s(t), True, s(t))
        assert notices.step(s(t)) == [], t  # up for less than 30 s since its latest reconnect
    beat(factory, "cam-a", s(260), True, s(260))
    assert [n.event for n in notices.step(s(260))] == ["camera_online"]

    got = subscriber.wait_for(2)
    assert len(subscriber.wait_for(3, timeout=1.0)) == 2, "one message per change of state"
    assert [t for t, _ in got] == [f"{prefix}/cameras/offline", f"{prefix}/cameras/online"]
    (_, off), (_, on) = got
    for doc in (off, on):
        assert doc["schema_version"] == 1 and doc["actor"] == "system" and len(doc["event_id"]) == 36
        assert set(doc["camera"]) == CAMERA_FIELDS and doc["camera"]["id"] == "cam-a"
        assert doc["camera"]["timezone"] == "Asia/Shanghai" and doc["camera"]["place"] == "cam-a crossing"
        assert "hunter2" not in json.dumps(doc)
    assert off["event"] == "camera_offline" and off["time"] == "2026-05-01T00:01:10Z"
    cam = off["camera"]
    assert (cam["state"], cam["previous_state"]) == ("offline", "online")
    assert cam["since"] == "2026-05-01T00:00:08Z" and cam["since_local"] == "2026-05-01T08:00:08+08:00"
    assert cam["reason"] == "OSError: rtsp://admin:***@10.0.0.9/cam-a: Connection refused"
    cam = on["camera"]
    assert (cam["state"], cam["previous_state"], cam["reason"]) == ("online", "offline", None)
    assert cam["since"] == "2026-05-01T00:03:48Z" and cam["since_local"] == "2026-05-01T08:03:48+08:00"
    assert cam["offline_s"] == 220.0

    # the same documents, signed, on the webhook
    assert events.bus_for(settings).flush(10)
    assert [h["x-civicwatch-event"] for h, _ in receiver.requests] == ["camera_offline", "camera_online"]
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[events.SIGNATURE_HEADER.lower()], expected)
    assert [json.loads(b)["event_id"] for _, b in receiver.requests] == [off["event_id"], on["event_id"]]

    # a restart of the service repeats nothing, and still announces the next change
    again = CameraNotices(factory, settings)
    beat(factory, "cam-a", s(300), True, s(300))
    assert again.step(s(300)) == []
    beat(factory, "cam-a", s(400), False, s(330), error)
    assert [(n.event, n.camera.since) for n in again.step(s(400))] == [("camera_offline", "2026-05-01T00:05:30Z")]


def test_short_drops_announce_nothing(world, subscriber):
    settings, factory = world
    notices = CameraNotices(factory, settings)
    beat(factory, "cam-a", s(0), True, s(0))
    notices.step(s(0))
    for k in range(10):  # down 40 s in every 100 s: never for the hold-off
        t0 = 100 * k
        beat(factory, "cam-a", s(t0 + 50), False, s(t0 + 45), "the stream ended")
        assert notices.step(s(t0 + 50)) == []
        assert notices.step(s(t0 + 80)) == []
        gap(factory, "cam-a", s(t0 + 45), s(t0 + 85))
        beat(factory, "cam-a", s(t0 + 90), True, s(t0 + 90))
        assert notices.step(s(t0 + 90)) == []
    assert subscriber.wait_for(1, timeout=1.0) == []


def test_dead_recorder_and_never_reached_camera(world, subscriber, prefix):
    """A recorder process that died stops its heartbeat (the row still says connected); a camera
    never reached has no last picture: it is down since the service first saw it so."""
    settings, factory = world
    notices = CameraNotices(factory, settings)
    beat(factory, "cam-a", s(0), True, s(0))
    beat(factory, "cam-b", s(0), False, None, "OSError: Connection timed out")
    assert notices.step(s(0)) == []
    beat(factory, "cam-b", s(30), False, None, "OSError: Connection timed out")  # its recorder retries
    assert notices.step(s(30)) == []  # cam-a's heartbeat is 30 s old: stale (3 x 5 s + 5), 30 s < 60 s
    beat(factory, "cam-b", s(61), False, None, "OSError: Connection timed out")
    sent = notices.step(s(61))  # cam-b: down since 0 s (first seen), for 61 s; cam-a: since its last picture
    assert sorted(n.camera.id for n in sent) == ["cam-a", "cam-b"]
    by_id = {n.camera.id: n.camera for n in sent}
    assert "no heartbeat" in by_id["cam-a"].reason and by_id["cam-a"].since == "2026-05-01T00:00:00Z"
    assert by_id["cam-b"].previous_state is None and by_id["cam-b"].reason == "OSError: Connection timed out"
    assert by_id["cam-b"].timezone == "Asia/Urumqi" and by_id["cam-b"].since_local == "2026-05-01T06:00:00+06:00"
    assert len(subscriber.wait_for(2)) == 2

    # its stream URL removed: the camera is forgotten, nothing announced
    with session_scope(factory) as db:
        db.get(Camera, "cam-b").stream_url = None
    assert notices.step(s(70)) == [] and "cam-b" not in notices.states


def test_real_camera_going_down_and_coming_back(tmp_path, prefix, subscriber, footage_dir):
    """End to end: the real recorder against the real RTSP camera, the notices' own thread, the
    real broker. The camera is killed (the recorder retries every quarter to one second) and
    started again: one offline notice, one online notice."""
    from service.live.recorders import CameraRecorder
    from tests.service.helpers import SCENE_YAML

    from .helpers import CLIP, RtspCamera

    settings = Settings(
        data_dir=tmp_path / "var",
        mqtt_host=BROKER[0],
        mqtt_port=BROKER[1],
        mqtt_topic_prefix=prefix,
        live_segment_s=2.0,
        live_heartbeat_s=0.3,
        camera_offline_after_s=2.0,
        camera_online_after_s=1.0,
        camera_notice_poll_s=0.2,
    )
    engine = make_engine(settings)
    migrate(settings, engine)
    factory = make_session_factory(engine)
    camera = RtspCamera(footage_dir / CLIP)
    with session_scope(factory) as db:
        db.add(
            Camera(
                id="bj-overpass",
                kind="fixed",
                place="Overpass north",
                timezone="Asia/Shanghai",
                scene_yaml=SCENE_YAML,
                stream_url=camera.url,
            )
        )
    camera.start()
    recorder = CameraRecorder(
        factory, settings, "bj-overpass", camera.url, read_timeout_s=2.0, backoff_initial_s=0.25, backoff_max_s=1.0
    )
    notices = CameraNotices(factory, settings)
    try:
        recorder.start()
        notices.start()
        deadline = time.monotonic() + 30
        while notices.states.get("bj-overpass") is None or notices.states["bj-overpass"].state != "online":
            assert time.monotonic() < deadline, "the camera was never seen online"
            time.sleep(0.1)
        camera.kill()
        got = subscriber.wait_for(1, timeout=30)
        assert [t for t, _ in got] == [f"{prefix}/cameras/offline"]
        time.sleep(2.0)  # down a while longer: the recorder keeps retrying (every 0.25-1 s)
        assert len(subscriber.messages) == 1
        camera.start()
        got = subscriber.wait_for(2, timeout=40)
        assert [t for t, _ in got] == [f"{prefix}/cameras/offline", f"{prefix}/cameras/online"]
        off, on = got[0][1]["camera"], got[1][1]["camera"]
        assert off["reason"] and on["previous_state"] == "offline" and on["offline_s"] >= 2.0
        assert off["since"] < on["since"] and on["since_local"].endswith("+08:00")
        time.sleep(1.0)  # five polls of the notices, the camera up: no second online
        assert len(subscriber.messages) == 2
    finally:
        notices.stop()
        recorder.stop()
        camera.kill()
        events.close_all()
        engine.dispose()
