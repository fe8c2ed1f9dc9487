"""Camera health across a restart of the camera's recorder (a service restart, a redeployed
``civicwatch record``) while the camera is down."""

from __future__ import annotations

from datetime import timedelta

from service.live import segments as live
from service.live.health import camera_health
from service.live.notices import observe
from service.live.recorders import CameraRecorder
from service.models import utcnow

from .helpers import dead_stream_url


def test_recording_lag_keeps_counting_when_the_recorder_restarts_while_the_camera_is_down(env, camera):
    cam = camera["camera_id"]
    url = dead_stream_url()  # the camera is down
    assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": url}).status_code == 200
    factory, settings = env.app.state.session_factory, env.settings
    last_picture = utcnow() - timedelta(minutes=10)
    # the recorder before the restart: its last picture ten minutes ago, the stream down since
    live.heartbeat(factory, cam, False, last_picture, "OSError: Connection refused", "old-host")

    rec = CameraRecorder(factory, settings, cam, url, connect_timeout_s=1, backoff_initial_s=0.1, backoff_max_s=0.2)
    rec.start()  # the new recorder beats at once; it has received nothing yet
    rec.stop()

    with factory() as db:
        now = utcnow()
        h = {x.camera_id: x for x in camera_health(db, settings, now=now)}[cam]
        assert not h.online
        # still the time since the camera's last picture: not unknown (the metric and its alert
        # would vanish) because this recorder process has not seen a picture itself
        assert h.recording_lag_s is not None and h.recording_lag_s >= 600, h
        seen = {o.camera_id: o for o in observe(db, settings, now)}[cam]
        assert seen.state == "offline" and seen.since is not None
        assert abs((seen.since - last_picture).total_seconds()) < 1e-3  # offline since the last picture
