"""Recorders inside the service (``live_in_service``): setting a camera's stream URL starts its
recorder at once, against a real RTSP camera; its segments become queued jobs; removing the URL
stops it. The recorder itself, gaps and the cases of its segments are tested in tests/live and
test_live_rtsp.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.models import Job, LiveSegment
from tests.live.helpers import SHORT_CLIP, RtspCamera

from .helpers import ADMIN_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def db_backend() -> str:
    return "postgresql"  # one backend is enough for the recorder's lifecycle


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=database_url, admin_password=ADMIN_PASSWORD,
                    runner="none", live_in_service=1, live_segment_s=2.0, live_heartbeat_s=0.5)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_stream_url_starts_and_stops_the_services_own_recorder(env, footage_dir, scene_file):
    with open(scene_file, "rb") as fh:
        r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", fh.read(), "application/x-yaml")})
    assert r.status_code == 201, r.text
    cam = r.json()["camera_id"]
    manager, factory = env.app.state.live_manager, env.app.state.session_factory
    camera = RtspCamera(footage_dir / SHORT_CLIP)  # a keyframe every 2.3 s: 2.3 s segments
    camera.start()
    try:
        assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": camera.url}).status_code == 200
        _wait(lambda: cam in manager.recorders, 5, "the recorder to start (not a minute later)")

        def segments() -> int:
            with factory() as db:
                return db.scalar(select(func.count()).select_from(LiveSegment).where(LiveSegment.camera_id == cam))

        def queued() -> int:
            with factory() as db:
                return db.scalar(select(func.count()).select_from(LiveSegment).where(
                    LiveSegment.camera_id == cam, LiveSegment.job_id.is_not(None)))

        _wait(lambda: segments() >= 2, 60, "two segments")
        # a window needs the next segment: the first is queued as a job once the second is finished
        _wait(lambda: queued() >= 1, 10, "the first segment's job")
        with factory() as db:
            job = db.get(Job, db.scalar(select(LiveSegment.job_id).where(LiveSegment.job_id.is_not(None)).limit(1)))
            assert job.state == "queued"
        health = {h["camera_id"]: h for h in env.operator.get("/api/live/health").json()}[cam]
        assert health["online"] and health["last_segment"]

        assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": None}).status_code == 200
        _wait(lambda: cam not in manager.recorders, 10, "the recorder to stop")
    finally:
        camera.kill()
