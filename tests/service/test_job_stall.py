"""A hung analysis (``job_stall_s``, service.jobs.stall): the pipeline's entry point blocks on an
Event, as a decoder stuck on a broken stream or a deadlocked thread would, without a call back.
The job must fail as ``job_stalled`` instead of staying "running" for good, the worker must be
freed (a fresh thread in the web process; the pool worker process exits), a retry must work while
the hung call still hangs, nothing stored may be lost, and the hung call's late result is dropped."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from sqlalchemy import select

from service.db import session_scope
from service.jobs.segments import run_segment, split_job
from service.jobs.stall import STALLED_CODE
from service.jobs.work import claim
from service.jobs.worker import EXIT_STALLED, PoolWorker
from service.main import create_app
from service.models import Case, Job, JobSegment
from service.web import i18n

from .conftest import start_env, upload_clip
from .helpers import SCENE_YAML, SHORT_CLIP, copy_run, wait_job

STALL = {"job_stall_s": 0.6, "job_lease_s": 0.6}


class HangingPipeline:
    """Its first call hangs without a call back until ``release``; then, and on later calls, it
    writes the real run folder like the pipeline."""

    def __init__(self, template, hang_calls: int = 1):
        self.template, self.hang_calls = template, hang_calls
        self.calls = 0
        self.hanging = threading.Event()
        self.release = threading.Event()

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        self.calls += 1
        if self.calls <= self.hang_calls:
            self.hanging.set()
            self.release.wait(30)
        progress(SimpleNamespace(fraction=0.5))
        copy_run(self.template, out_dir)
        progress(SimpleNamespace(fraction=1.0))
        return SimpleNamespace(cases=[], timings=SimpleNamespace(video_s=2.3))


def _cases(factory, job_id: int) -> list[str]:
    with factory() as db:
        return sorted(db.scalars(select(Case.id).where(Case.job_id == job_id)))


def test_a_hung_analysis_fails_as_stalled_frees_the_worker_thread_and_retry_works(
    settings, evidence_template, footage_dir
):
    pipeline = HangingPipeline(evidence_template)
    s = settings.model_copy(update={"runner": "inprocess", **STALL})
    main, env = start_env(create_app(s, analyze_fn=pipeline), s)
    runner = env.app.state.runner
    try:
        env.admin.post("/api/cameras", data={"scene": SCENE_YAML})
        job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
        assert pipeline.hanging.wait(30)
        job = wait_job(env.operator, job_id, timeout=30)
        assert job["state"] == "failed" and job["error"].startswith(f"{STALLED_CODE}: "), job
        # the hung thread could not be stopped: it was left behind and a fresh one took over
        assert len(runner.abandoned) == 1 and runner.abandoned[0].is_alive()
        assert runner.worker_alive() and runner._thread is not runner.abandoned[0]

        r = env.operator.post(f"/api/jobs/{job_id}/retry")
        assert r.status_code == 200, r.text
        job = wait_job(env.operator, job_id, timeout=30)
        assert job["state"] == "done" and job["cases_found"] == 2, job  # run by the new thread, the old one hangs
        assert runner.abandoned[0].is_alive()
        cases = _cases(env.app.state.session_factory, job_id)
        assert len(cases) == 2

        pipeline.release.set()  # the hung call returns at last: its result must not land
        runner.abandoned[0].join(30)
        assert not runner.abandoned[0].is_alive()
        job = env.operator.get(f"/api/jobs/{job_id}").json()
        assert job["state"] == "done" and job["error"] is None and job["cases_found"] == 2
        assert _cases(env.app.state.session_factory, job_id) == cases
    finally:
        pipeline.release.set()
        main.__exit__(None, None, None)


def test_an_analysis_that_keeps_calling_back_is_not_stalled(settings, evidence_template, footage_dir):
    """Slow but alive (longer than the limit in all, a call back well within it) runs to the end."""

    def slow(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        for i in range(20):  # 2 s against a 0.6 s limit
            progress(SimpleNamespace(fraction=i / 40))
            assert not should_cancel()
            time.sleep(0.1)
        copy_run(evidence_template, out_dir)
        progress(SimpleNamespace(fraction=1.0))
        return SimpleNamespace(cases=[], timings=SimpleNamespace(video_s=2.3))

    s = settings.model_copy(update={"runner": "inprocess", **STALL})
    main, env = start_env(create_app(s, analyze_fn=slow), s)
    try:
        env.admin.post("/api/cameras", data={"scene": SCENE_YAML})
        job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
        job = wait_job(env.operator, job_id, timeout=60)
        assert job["state"] == "done" and job["cases_found"] == 2, job
        assert env.app.state.runner.abandoned == []
    finally:
        main.__exit__(None, None, None)


def test_a_hung_segment_fails_its_job_and_the_pool_worker_exits(env, camera, footage_dir, evidence_template):
    """On the pool the task runs on the worker's own thread: the process exits (status 75) for its
    supervisor to restart it. The other segment's cases stay; the job ends failed naming the hung
    segment; the hung call's late result is dropped."""
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5, **STALL})
    factory = env.app.state.session_factory
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    assert claim(factory, job_id, settings.job_max_attempts, "splitter", settings.job_lease_s)
    segments = split_job(factory, settings, job_id, "splitter")
    assert len(segments) == 2

    pipeline = HangingPipeline(evidence_template)
    worker = PoolWorker(settings, analyze_fn=pipeline, make_options=dict, name="test-worker")
    exits: list[int] = []
    exited = threading.Event()
    worker._exit = lambda status: (exits.append(status), exited.set())  # os._exit would end pytest
    results: list[str] = []
    task = threading.Thread(target=lambda: results.append(worker.segment(segments[0])), daemon=True)
    try:
        task.start()
        assert exited.wait(30), "the hung segment was never noticed"
        assert exits == [EXIT_STALLED]
        with session_scope(factory) as db:
            seg = db.get(JobSegment, segments[0])
            assert seg.state == "failed" and seg.error.startswith(f"{STALLED_CODE}: ") and seg.lease_owner is None

        # the restarted worker runs the other segment; the job ends failed, naming the hung one
        out = run_segment(
            segments[1],
            factory,
            settings,
            HangingPipeline(evidence_template, 0),
            dict,
            lambda: False,
            "restarted-worker",
        )
        assert out.state == "done" and out.parent == "failed"
        kept = _cases(factory, job_id)
        assert len(kept) == 2
        with session_scope(factory) as db:
            job = db.get(Job, job_id)
            assert job.state == "failed" and STALLED_CODE in job.error and "segment 1 of 2" in job.error

        pipeline.release.set()
        task.join(30)
        assert results == ["None"]  # the late result was not this worker's to record
        with session_scope(factory) as db:
            assert db.get(JobSegment, segments[0]).state == "failed"
        assert _cases(factory, job_id) == kept
    finally:
        pipeline.release.set()
        worker.engine.dispose()


def test_the_stalled_code_has_a_sentence_in_both_languages():
    for lang in i18n.LANGUAGES:
        assert f"error.{STALLED_CODE}" in i18n.catalogue(lang), lang
