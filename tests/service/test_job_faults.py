"""Misuse and fault defects of the job runner (issue 8, items 2, 3 and 19): job ownership by
lease, a clean stop that hands the job back uncounted, and publication media off the job worker.
The pipeline is the test stand-in of test_jobs.py; the database is real (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.jobs import InProcessRunner
from service.jobs.lease import requeue_expired
from service.main import create_app
from service.models import Case, Job, Upload, utcnow

from .conftest import start_env, upload_clip
from .helpers import LONG_CLIP, SCENE_YAML, SHORT_CLIP, copy_run, wait_job
from .test_jobs import FakePipeline


class DeafPipeline(FakePipeline):
    """Like evidence writing: runs until released and never looks at ``should_cancel``."""

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        self.calls.append({"options": options})
        self.started.set()
        self.release.wait(60)
        copy_run(self.template, out_dir)
        return None


def _start(settings, fake, **overrides):
    s = settings.model_copy(update={"runner": "inprocess", **overrides})
    app = create_app(s, analyze_fn=fake)
    main, env = start_env(app, s)
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 201
    return main, env


def _job_row(env, job_id: int) -> Job:
    with env.app.state.session_factory() as db:
        return db.get(Job, job_id)


def test_second_serve_leaves_the_live_servers_job_alone(settings, evidence_template, footage_dir):
    fake = FakePipeline(evidence_template)
    fake.mode = "block"
    main, env = _start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert fake.started.wait(30)
        wait_job(env.operator, up["job_id"], states=("running",))
        owner = _job_row(env, up["job_id"]).lease_owner
        assert owner == env.app.state.runner.owner

        # A second `serve` on the same data folder starts (migrations, janitor, runner recovery)
        # and then stops, as one that cannot bind its port does.
        fake2 = FakePipeline(evidence_template)
        second = create_app(env.settings, analyze_fn=fake2)
        with TestClient(second):
            time.sleep(0.3)
        row = _job_row(env, up["job_id"])
        assert (row.state, row.lease_owner, row.attempts) == ("running", owner, 1)
        assert fake2.calls == []

        fake.release.set()
        job = wait_job(env.operator, up["job_id"])
        assert (job["state"], job["attempts"], job["cases_found"]) == ("done", 1, 2)
        assert len(fake.calls) == 1
    finally:
        fake.release.set()
        main.__exit__(None, None, None)


def test_only_an_expired_lease_goes_back_to_the_queue(env, camera, footage_dir):
    a = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    b = upload_clip(env.operator, footage_dir / LONG_CLIP)
    factory = env.app.state.session_factory
    with factory() as db:
        db.execute(update(Job).where(Job.id == a["job_id"]).values(
            state="running", attempts=1, lease_owner="live", lease_expires_at=utcnow() + timedelta(seconds=60)))
        db.execute(update(Job).where(Job.id == b["job_id"]).values(
            state="running", attempts=1, lease_owner="dead", lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert requeue_expired(factory) == [b["job_id"]]
    assert (_job_row(env, a["job_id"]).state, _job_row(env, a["job_id"]).lease_owner) == ("running", "live")
    dead = _job_row(env, b["job_id"])
    assert (dead.state, dead.lease_owner, dead.attempts) == ("queued", None, 1)  # a crash is an attempt


def test_heartbeat_keeps_a_long_job_owned(settings, evidence_template, footage_dir):
    fake = FakePipeline(evidence_template)
    fake.mode = "block"
    main, env = _start(settings, fake, job_lease_s=0.6)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert fake.started.wait(30)
        time.sleep(2.0)  # three lease lengths: only renewals keep it
        assert requeue_expired(env.app.state.session_factory) == []
        assert _job_row(env, up["job_id"]).state == "running"
        fake.release.set()
        assert wait_job(env.operator, up["job_id"])["attempts"] == 1
    finally:
        fake.release.set()
        main.__exit__(None, None, None)


def test_stop_during_uninterruptible_work_requeues_without_an_attempt(settings, evidence_template, footage_dir):
    fake = DeafPipeline(evidence_template)
    main, env = _start(settings, fake, job_stop_timeout_s=0.5)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    assert fake.started.wait(30)
    wait_job(env.operator, up["job_id"], states=("running",))
    t0 = time.monotonic()
    main.__exit__(None, None, None)  # SIGTERM: uvicorn runs the lifespan's shutdown
    assert time.monotonic() - t0 < 10
    row = _job_row(env, up["job_id"])
    assert (row.state, row.attempts, row.lease_owner) == ("queued", 0, None)

    # The abandoned thread finishes later: its result is dropped, the queued job is untouched.
    fake.release.set()
    time.sleep(1.0)
    row = _job_row(env, up["job_id"])
    assert (row.state, row.attempts) == ("queued", 0)
    with env.app.state.session_factory() as db:
        assert list(db.scalars(select(Case.id))) == []

    fake2 = FakePipeline(evidence_template)
    app2 = create_app(env.settings.model_copy(update={"runner": "inprocess"}), analyze_fn=fake2)
    with TestClient(app2):
        job = wait_job(TestClient(app2, cookies=env.operator.cookies), up["job_id"])
    assert (job["state"], job["attempts"], job["cases_found"]) == ("done", 1, 2)


def test_next_job_does_not_wait_for_publication_media(settings, evidence_template, footage_dir, monkeypatch):
    import service.jobs.publish_queue as publish_queue

    made: list[str] = []
    gate = threading.Event()

    def slow_prepare(factory, settings, case_ids, stopping=lambda: False):  # noqa: ANN001
        gate.wait(60)  # redaction of the first job's cases takes "forever"
        made.extend(case_ids)
        return len(case_ids)

    monkeypatch.setattr(publish_queue, "prepare_published", slow_prepare)
    fake = FakePipeline(evidence_template)
    main, env = _start(settings, fake)
    try:
        first = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert wait_job(env.operator, first["job_id"])["state"] == "done"
        second = upload_clip(env.operator, footage_dir / LONG_CLIP)
        job = wait_job(env.operator, second["job_id"], timeout=30)
        assert job["state"] == "done" and made == []  # analysed while the media were still being made
        gate.set()
        runner: InProcessRunner = env.app.state.runner
        deadline = time.monotonic() + 30
        while len(made) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        with env.app.state.session_factory() as db:
            assert sorted(made) == sorted(db.scalars(select(Case.id)))
        assert runner.publisher.idle.wait(10)
    finally:
        gate.set()
        main.__exit__(None, None, None)


def test_start_time_given_with_the_upload_overrides_the_scene(settings, evidence_template, footage_dir):
    fake = FakePipeline(evidence_template)
    main, env = _start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP, started_at="2024-06-02T07:30:00+08:00")
        wait_job(env.operator, up["job_id"])
        opts = fake.calls[0]["options"]
        assert opts["start_time_overrides_scene"] is True
        assert opts["start_time"].isoformat() == "2024-06-01T23:30:00+00:00"
        other = upload_clip(env.operator, footage_dir / LONG_CLIP)  # no time given: the scene's counts
        wait_job(env.operator, other["job_id"])
        assert "start_time" not in fake.calls[1]["options"]
        with env.app.state.session_factory() as db:
            assert db.get(Upload, up["upload_id"]).started_at is not None
    finally:
        main.__exit__(None, None, None)


def test_a_worker_that_lost_its_lease_stops_and_writes_nothing(settings, evidence_template, footage_dir):
    fake = FakePipeline(evidence_template)
    fake.mode = "block"  # checks should_cancel while it runs
    main, env = _start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        assert fake.started.wait(30)
        with env.app.state.session_factory() as db:  # declared dead and taken over by another worker
            db.execute(update(Job).where(Job.id == up["job_id"]).values(
                lease_owner="other-worker", lease_expires_at=utcnow() + timedelta(seconds=60), progress=7.0))
            db.commit()
        deadline = time.monotonic() + 30
        while env.app.state.runner.current is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env.app.state.runner.current is None  # the old worker gave up the job
        row = _job_row(env, up["job_id"])
        assert (row.state, row.lease_owner, row.progress, row.cases_found) == ("running", "other-worker", 7.0, None)
        with env.app.state.session_factory() as db:
            assert list(db.scalars(select(Case.id))) == []
    finally:
        fake.release.set()
        main.__exit__(None, None, None)


def test_a_full_disk_before_the_analysis_fails_the_job_with_the_reason(settings, evidence_template, footage_dir,
                                                                        monkeypatch):
    """The run's scene copy is written before the pipeline starts. On a full disk that write raised
    out of the job: the job sat 'running' with no worker until its lease ran out, was tried again,
    and after ``job_max_attempts`` failed as 'the process stopped during each run', the disk never named."""
    import errno
    import pathlib

    real_write_text = pathlib.Path.write_text

    def full_disk_for_scene_copies(self, *args, **kwargs):  # noqa: ANN001
        if self.name.endswith(".scene.yaml"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write_text(self, *args, **kwargs)

    fake = FakePipeline(evidence_template)
    main, env = _start(settings, fake)
    try:
        monkeypatch.setattr(pathlib.Path, "write_text", full_disk_for_scene_copies)
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        job = wait_job(env.operator, up["job_id"], timeout=20)  # well inside the 60 s lease
        assert job["state"] == "failed" and "No space left on device" in job["error"], job
        row = _job_row(env, up["job_id"])
        assert (row.attempts, row.lease_owner) == (1, None)
        assert fake.calls == []  # the pipeline never started

        monkeypatch.setattr(pathlib.Path, "write_text", real_write_text)  # space freed: the worker goes on
        other = upload_clip(env.operator, footage_dir / LONG_CLIP)
        assert wait_job(env.operator, other["job_id"])["state"] == "done"
    finally:
        main.__exit__(None, None, None)


class ExitingPipeline(FakePipeline):
    """A pipeline (or a library inside it) that calls ``sys.exit`` on a file it cannot handle."""

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        self.calls.append({"options": options})
        if len(self.calls) == 1:
            raise SystemExit(3)
        return super().__call__(source, scene_path, out_dir, options, progress, should_cancel)


def test_a_pipeline_that_calls_sys_exit_fails_its_job_and_the_worker_goes_on(settings, evidence_template,
                                                                            footage_dir):
    """SystemExit is no Exception: it ended the worker thread without a word (threads swallow it),
    the job stayed 'running' for good (no loop left to re-queue it) and /healthz still said ok."""
    fake = ExitingPipeline(evidence_template)
    main, env = _start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        job = wait_job(env.operator, up["job_id"], timeout=20)
        assert job["state"] == "failed" and "SystemExit" in job["error"], job
        other = upload_clip(env.operator, footage_dir / LONG_CLIP)
        assert wait_job(env.operator, other["job_id"], timeout=30)["state"] == "done"
        health = env.anon.get("/healthz").json()
        assert health["worker"] == "ok", health
    finally:
        main.__exit__(None, None, None)


def test_healthz_says_when_the_job_worker_is_gone(settings, evidence_template):
    main, env = _start(settings, FakePipeline(evidence_template))
    try:
        assert env.anon.get("/healthz").json()["worker"] == "ok"
        runner = env.app.state.runner
        thread = runner._thread
        runner._stop.set()  # the worker thread ends, as if killed, while the web process goes on
        runner._wake.set()
        thread.join(10)
        r = env.anon.get("/healthz")
        assert r.status_code == 503 and r.json()["worker"] == "stopped" and r.json()["status"] == "unavailable"
    finally:
        main.__exit__(None, None, None)
