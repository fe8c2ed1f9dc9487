"""The job runner with a stand-in for the pipeline (unit tests of the runner only; the real
pipeline runs in test_integration.py): lifecycle, progress, failure, cancel, retry, restart."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from service.main import create_app
from service.models import Case, Job

from .conftest import start_env, upload_clip
from .helpers import SCENE_YAML, SHORT_CLIP, copy_run, wait_job


class FakePipeline:
    """Writes the prepared real run folder like the pipeline would; can fail, block, or wait for cancel."""

    def __init__(self, template):
        self.template = template
        self.mode = "ok"
        self.calls: list[dict] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        self.calls.append({"source": source, "scene": scene_path.read_text(encoding="utf-8"), "options": options})
        self.started.set()
        if self.mode == "fail":
            raise RuntimeError("decoder exploded at frame 12")
        if self.mode in ("wait_cancel", "block"):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                progress(SimpleNamespace(fraction=0.25))
                if should_cancel():
                    raise RuntimeError("Cancelled")  # what a pipeline without its own exception would do
                if self.mode == "block" and self.release.is_set():
                    break
                time.sleep(0.02)
        progress(SimpleNamespace(fraction=0.5))
        copy_run(self.template, out_dir)
        progress(SimpleNamespace(fraction=1.0))
        return SimpleNamespace(cases=[], timings=SimpleNamespace(video_s=2.3))


@pytest.fixture
def fake(evidence_template):
    return FakePipeline(evidence_template)


def start(settings, fake):
    s = settings.model_copy(update={"runner": "inprocess"})
    app = create_app(s, analyze_fn=fake)
    main, env = start_env(app, s)
    env.admin.post("/api/cameras", data={"scene": SCENE_YAML})
    return main, env


def case_ids(env) -> list[str]:
    with env.app.state.session_factory() as db:
        return sorted(db.scalars(select(Case.id)))


def test_job_runs_to_done_and_cases_land(settings, fake, footage_dir):
    main, env = start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP, started_at="2024-05-01T09:00:00+08:00")
        job = wait_job(env.operator, up["job_id"])
        assert (job["state"], job["progress"], job["cases_found"], job["error"]) == ("done", 100.0, 2, None)
        assert job["video_seconds"] == pytest.approx(2.3)
        call = fake.calls[0]
        assert call["source"].read_bytes() == (footage_dir / SHORT_CLIP).read_bytes()
        assert "camera: bj-overpass" in call["scene"]
        assert call["options"]["start_time"].isoformat() == "2024-05-01T01:00:00+00:00"
        listed = env.reviewer.get("/api/cases").json()
        assert listed["total"] == 2 and {c["state"] for c in listed["items"]} == {"pending"}
        assert {c["rule"] for c in listed["items"]} == {"wrong_way", "red_light_pedestrian"}
        metrics = env.anon.get("/metrics").text
        assert 'civicwatch_jobs{state="done"} 1.0' in metrics
        assert 'civicwatch_cases{rule="wrong_way",state="pending"} 1.0' in metrics
        speed = [l for l in metrics.splitlines() if l.startswith("civicwatch_processing_speed_ratio ")]
        assert speed and float(speed[0].split()[1]) > 0
    finally:
        main.__exit__(None, None, None)


def test_failed_job_keeps_upload_and_can_be_retried(settings, fake, footage_dir):
    fake.mode = "fail"
    main, env = start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        job = wait_job(env.operator, up["job_id"])
        assert job["state"] == "failed" and "decoder exploded at frame 12" in job["error"]
        stored = [p.read_bytes() for p in (env.data_dir / "uploads").rglob("*.mp4")]
        assert stored == [(footage_dir / SHORT_CLIP).read_bytes()]  # the upload is still on disk
        assert not (env.data_dir / "jobs" / str(up["job_id"]) / "run-1").exists()  # partial output removed
        assert env.operator.post(f"/api/jobs/{up['job_id']}/cancel").status_code == 409
        fake.mode = "ok"
        r = env.operator.post(f"/api/jobs/{up['job_id']}/retry")
        assert r.status_code == 200 and r.json()["state"] in ("queued", "running", "done")
        job = wait_job(env.operator, up["job_id"])
        assert job["state"] == "done" and job["cases_found"] == 2
        assert env.operator.post(f"/api/jobs/{up['job_id']}/retry").status_code == 409
        assert env.display.post(f"/api/jobs/{up['job_id']}/retry").status_code == 403
    finally:
        main.__exit__(None, None, None)


def test_a_job_whose_footage_is_gone_is_refused_a_retry(settings, fake, footage_dir):
    """A live camera's failed window, retried after rolling retention deleted its footage, was
    queued, waited its turn and failed again as "no such file". It is refused at once, saying why."""
    fake.mode = "fail"
    main, env = start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert wait_job(env.operator, up["job_id"])["state"] == "failed"
        for stored in (env.data_dir / "uploads").rglob("*.mp4"):
            stored.unlink()  # what retention does to a live window
        r = env.operator.post(f"/api/jobs/{up['job_id']}/retry")
        assert r.status_code == 409 and r.json()["code"] == "footage_gone", r.text
        assert env.operator.get(f"/api/jobs/{up['job_id']}").json()["state"] == "failed"
        assert env.admin.get("/api/audit", params={"action": "job.retry"}).json()["items"] == []
    finally:
        main.__exit__(None, None, None)


def test_cancel_running_job(settings, fake, footage_dir):
    fake.mode = "wait_cancel"
    main, env = start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert fake.started.wait(30)
        running = wait_job(env.operator, up["job_id"], states=("running",))
        r = env.operator.post(f"/api/jobs/{up['job_id']}/cancel")
        assert r.status_code == 200 and r.json()["cancel_requested"] is True
        job = wait_job(env.operator, up["job_id"])
        assert job["state"] == "cancelled" and job["cases_found"] is None
        assert running["progress"] >= 0
        assert case_ids(env) == []
        audit = env.admin.get("/api/audit", params={"action": "job.cancel"}).json()["items"]
        assert audit[0]["actor"] == "otto"
    finally:
        main.__exit__(None, None, None)


def test_restart_recovery_reruns_without_duplicate_cases(settings, fake, footage_dir):
    # 1. the service stops while a job is running: the job goes back to the queue
    fake.mode = "block"
    main, env = start(settings, fake)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    assert fake.started.wait(30)
    wait_job(env.operator, up["job_id"], states=("running",))
    main.__exit__(None, None, None)
    with env.app.state.session_factory() as db:
        assert db.get(Job, up["job_id"]).state == "queued"
    assert case_ids(env) == []

    # 2. the next start runs it to the end
    fake2 = FakePipeline(fake.template)
    s = settings.model_copy(update={"runner": "inprocess"})
    app2 = create_app(s, analyze_fn=fake2)
    from fastapi.testclient import TestClient

    with TestClient(app2):
        job = wait_job(env.admin.__class__(app2, cookies=env.admin.cookies), up["job_id"])
        assert job["state"] == "done" and job["attempts"] == 1  # a clean stop does not count an attempt
    first = case_ids(env)
    assert len(first) == 2

    # 3. a process that died with the job 'running' (after its cases were stored): rerun, no duplicates
    with env.app.state.session_factory() as db:
        db.execute(update(Job).where(Job.id == up["job_id"]).values(state="running"))
        db.commit()
    app3 = create_app(s, analyze_fn=fake2)
    with TestClient(app3):
        job = wait_job(TestClient(app3, cookies=env.admin.cookies), up["job_id"])
        assert job["state"] == "done" and job["attempts"] == 2 and job["cases_found"] == 2
    assert case_ids(env) == first
    assert len(fake2.calls) == 2


def test_queued_job_cancel_and_job_list_filters(settings, footage_dir, evidence_template):
    # runner "none": jobs stay queued, as for an external worker
    app = create_app(settings)
    main, env = start_env(app, settings)
    try:
        env.admin.post("/api/cameras", data={"scene": SCENE_YAML})
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert [j["id"] for j in env.operator.get("/api/jobs", params={"state": "queued"}).json()] == [up["job_id"]]
        assert env.operator.get("/api/jobs", params={"state": "bogus"}).status_code == 422
        r = env.operator.post(f"/api/jobs/{up['job_id']}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        assert env.operator.get("/api/jobs/999").status_code == 404
    finally:
        main.__exit__(None, None, None)



def test_a_drone_cameras_reference_frame_is_what_its_flights_are_registered_to(settings, fake, footage_dir):
    """The job hands the pipeline the camera's reference frame for a drone scene (and none for a
    fixed camera): the zones were drawn on it."""
    from .test_cameras import first_frame_jpeg

    main, env = start(settings, fake)
    try:
        ref = first_frame_jpeg(footage_dir / SHORT_CLIP)
        drone = SCENE_YAML.replace("camera: bj-overpass", "camera: bj-drone\nkind: drone")
        r = env.admin.post("/api/cameras", data={"scene": drone}, files={"reference": ("ref.jpg", ref, "image/jpeg")})
        assert r.status_code == 201, r.text
        first = upload_clip(env.operator, footage_dir / SHORT_CLIP, camera_id="bj-drone")
        assert wait_job(env.operator, first["job_id"])["state"] == "done"
        assert fake.calls[0]["options"]["reference_image"].read_bytes() == ref
        env.admin.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("ref.jpg", ref, "image/jpeg")})
    finally:
        main.__exit__(None, None, None)
