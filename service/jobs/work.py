"""Running one job: claim it, analyse the upload, ingest the cases, record the outcome.

Kept apart from any runner so that the in-process thread today and a Celery task later execute
exactly the same steps.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import session_scope
from service.ingest import ingest_run
from service.models import Camera, Job, utcnow
from service.publication import pending_case_ids, prepare_published

log = logging.getLogger(__name__)

# analyze(source, scene_path, out_dir, options, progress=..., should_cancel=...) -> result with .cases
AnalyzeFn = Callable[..., Any]


class ShuttingDown(Exception):
    """The runner is stopping; the job goes back to the queue."""


def default_analyze_fn(settings: Settings) -> tuple[AnalyzeFn, Callable[[dict], Any]]:
    """The real pipeline, with one detector loaded per worker and reused across jobs.

    Imports happen on first use, inside the job: a broken or missing pipeline fails the job with
    its reason instead of stopping the service from starting.
    """
    cache: dict[tuple, Any] = {}

    def make_options(extra: dict) -> Any:
        from detector.pipeline import AnalyzeOptions

        return AnalyzeOptions(**{"signing_key": settings.signing_key_path, **settings.analyze_options, **extra})

    def run(source, scene_path, out_dir, options, progress=None, should_cancel=None):  # noqa: ANN001
        from detector.detect import load_analysis_detector
        from detector.pipeline import analyze

        key = (options.model, options.conf, options.threads)
        if key not in cache:
            cache.clear()
            cache[key] = load_analysis_detector(options.model, conf=options.conf, threads=options.threads)
        return analyze(source, scene_path, out_dir, options, progress=progress,
                       should_cancel=should_cancel, detector=cache[key])

    return run, make_options


def claim(factory: sessionmaker[Session], job_id: int, max_attempts: int) -> bool:
    """Atomically move a queued job to running (a conditional UPDATE, safe across workers)."""
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        if job is None or job.state != "queued":
            return False
        if job.attempts >= max_attempts:
            job.state, job.finished_at = "failed", utcnow()
            job.error = f"gave up after {job.attempts} attempts (the process stopped during each run)"
            return False
        attempt = job.attempts + 1
        res = db.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued").values(
                state="running", attempts=attempt, started_at=utcnow(), finished_at=None, progress=0.0,
                error=None, cases_found=None, out_dir=f"jobs/{job_id}/run-{attempt}")
        )
        return res.rowcount == 1


def next_queued(factory: sessionmaker[Session]) -> int | None:
    with session_scope(factory) as db:
        return db.scalar(select(Job.id).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1))


def requeue_interrupted(factory: sessionmaker[Session]) -> list[int]:
    """Jobs left 'running' by a process that died: they run again from the start."""
    with session_scope(factory) as db:
        ids = list(db.scalars(select(Job.id).where(Job.state == "running")))
        if ids:
            db.execute(update(Job).where(Job.id.in_(ids)).values(state="queued", progress=0.0))
        return ids


def run_job(job_id: int, factory: sessionmaker[Session], settings: Settings, analyze_fn: AnalyzeFn,
            make_options: Callable[[dict], Any], stopping: Callable[[], bool]) -> str | None:
    """Run one job end to end; returns the final state, or None when it was not ours to run."""
    if not claim(factory, job_id, settings.job_max_attempts):
        return None
    data_dir = settings.data_dir
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        upload = job.upload
        camera = db.get(Camera, upload.camera_id)
        source = data_dir / upload.path
        out_dir = data_dir / job.out_dir
        scene_yaml = camera.scene_yaml
        started_at = upload.started_at
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # A copy of the scene as it was for this run: editing the camera later does not change history.
    scene_path = out_dir.parent / f"{out_dir.name}.scene.yaml"
    scene_path.write_text(scene_yaml, encoding="utf-8")

    last = {"write": 0.0, "check": 0.0, "cancel": False}

    def progress(p: Any) -> None:
        now = time.monotonic()
        if now - last["write"] < 0.5 and getattr(p, "fraction", 0) < 1.0:
            return
        last["write"] = now
        pct = round(max(0.0, min(1.0, float(p.fraction))) * 100.0, 1)
        with session_scope(factory) as db:
            db.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(progress=pct))

    def should_cancel() -> bool:
        if stopping():
            return True
        now = time.monotonic()
        if now - last["check"] >= 0.5:
            last["check"] = now
            with session_scope(factory) as db:
                last["cancel"] = bool(db.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
        return last["cancel"]

    t0 = time.monotonic()
    error: str | None = None
    result = None
    try:
        options = make_options({"start_time": started_at} if started_at else {})
        result = analyze_fn(source, scene_path, out_dir, options, progress=progress, should_cancel=should_cancel)
    except Exception as err:  # noqa: BLE001 - any pipeline failure is the job's outcome
        error = f"{type(err).__name__}: {err}"
        log.warning("job %s failed: %s", job_id, error)
    elapsed = time.monotonic() - t0

    cancelled = bool(last["cancel"]) or (error is not None and "Cancelled" in error.split(":")[0])
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        cancelled = cancelled or job.cancel_requested
        if stopping() and (error is not None or cancelled):
            job.state, job.progress = "queued", 0.0  # shutdown, not the user's cancel: rerun later
            shutil.rmtree(out_dir, ignore_errors=True)
            return "queued"
        if cancelled:
            job.state, job.error = "cancelled", None
        elif error is not None:
            job.state, job.error = "failed", error[:4000]
        else:
            try:
                cases = ingest_run(db, job, out_dir, data_dir)
            except Exception as err:  # noqa: BLE001
                db.rollback()
                job = db.get(Job, job_id)
                job.state, job.error = "failed", f"could not ingest the results: {err}"[:4000]
            else:
                job.state, job.progress, job.cases_found, job.error = "done", 100.0, len(cases), None
                timings = getattr(result, "timings", None)
                job.video_seconds = float(getattr(timings, "video_s", 0.0) or 0.0) or job.upload.duration_s
                job.processing_seconds = elapsed
        job.finished_at = utcnow()
        job.cancel_requested = False
        if job.state in ("cancelled", "failed"):
            shutil.rmtree(out_dir, ignore_errors=True)
        state = job.state
        new_cases = pending_case_ids(db, job_id) if state == "done" else []
    # The job is done for the operator; the exposure-screen copies are made after, so that the
    # reviewer's approval does not wait for redaction.
    if new_cases:
        prepare_published(factory, settings, new_cases, stopping)
    return state
