"""The service's own recorder for a camera whose folder another recorder (a ``civicwatch record
--camera`` process) already holds: not started, no heartbeat of its own, the other cameras still
started, and tried again at the next look."""

from __future__ import annotations

from detector.media.recorder import Recorder, RecorderConfig
from service.live import segments as live
from service.live.recorders import LiveManager
from service.models import RecorderStatus

from .helpers import dead_stream_url


def test_the_service_leaves_a_camera_another_recorder_holds_and_starts_the_rest(env, camera):
    cam = camera["camera_id"]
    factory = env.app.state.session_factory
    assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": dead_stream_url()}).status_code == 200
    other = Recorder(RecorderConfig(dead_stream_url(), live.segments_dir(env.settings, cam)))
    other.claim()  # the other process's recorder
    settings = env.settings.model_copy(update={"live_in_service": 5})
    manager = LiveManager(factory, settings, submit=lambda job_id: None)
    try:
        manager.sync()  # does not raise: the other cameras' recorders would not start either
        assert cam not in manager.recorders
        with factory() as db:
            assert db.get(RecorderStatus, cam) is None  # no heartbeat competing with the other's
        other.release()
        manager.sync()
        assert cam in manager.recorders
    finally:
        other.release()
        manager.stop()
