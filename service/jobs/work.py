"""Running one job: claim it, analyse the upload, ingest the cases, record the outcome.

Kept apart from any runner so that the in-process thread today and a Celery task later execute
exactly the same steps.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service import events, scenes
from service.db import session_scope
from service.live import segments as live_segments
from service.blobstore import BlobStore, evidence_store
from service.ingest import discard_local_run, ingest_run, store_run
from service.jobs.lease import Heartbeat, expires, new_owner, release
from service.jobs.stall import Liveness, StallWatch, watched
from service.jobs.throttle import Throttle
from service.models import Camera, Case, Job, utcnow
from service.publication import pending_case_ids
from service.run_trust import RunRefused, RunTrust, check_run, installation_keys, note_unsigned

log = logging.getLogger(__name__)

# analyze(source, scene_path, out_dir, options, progress=..., should_cancel=...) -> result with .cases
AnalyzeFn = Callable[..., Any]


def default_analyze_fn(settings: Settings) -> tuple[AnalyzeFn, Callable[[dict], Any]]:
    """The real pipeline, with one detector loaded per worker and reused across jobs.

    Imports happen on first use, inside the job: a broken or missing pipeline fails the job with
    its reason instead of stopping the service from starting.
    """
    cache: dict[tuple, Any] = {}
    # A pool worker's threads (``civicwatch worker --concurrency N``) share this one model; without
    # the lock two jobs starting together each loaded it, twice the memory and two copies in use.
    cache_lock = threading.Lock()

    def make_options(extra: dict) -> Any:
        from detector.pipeline import AnalyzeOptions

        return AnalyzeOptions(**{"signing_key": settings.signing_key_path, **settings.analyze_options, **extra})

    def detector_for(options):  # noqa: ANN001, ANN202
        from detector.detect import load_analysis_detector

        floor = options.class_scores().floor  # people may have a lower threshold than the rest
        key = (options.model, floor, options.threads)
        with cache_lock:  # held through the load: the other thread waits for this model, not a second
            if key not in cache:
                cache.clear()
                cache[key] = load_analysis_detector(options.model, conf=floor, threads=options.threads)
            return cache[key]

    def run(source, scene_path, out_dir, options, progress=None, should_cancel=None):  # noqa: ANN001
        from detector.pipeline import analyze

        return analyze(source, scene_path, out_dir, options, progress=progress,
                       should_cancel=should_cancel, detector=detector_for(options))

    # a pool worker loads its model before taking work (``civicwatch worker``), not in its first task
    run.preload = lambda: detector_for(make_options({}))
    run.signs_runs = True  # its runs carry manifest.sig: an unsigned one was tampered with (service.run_trust)
    return run, make_options


RUN_NUMBER_RE = re.compile(r"/run-(\d+)$")


def unused_run_dir(db: Session, job_id: int, stem: str, first: int, store: BlobStore | None = None) -> str:
    """``jobs/<job_id>/<stem><n>`` for the first ``n >= first`` that no case of the job refers to
    and, given a ``store``, that holds no objects there (the leftovers of a failed try the bucket
    would not let us delete: writing into them would mix two tries' files; the janitor removes
    them later). A decided case keeps its evidence in the run it was judged in (``service.ingest``),
    so a new try must never empty or fill that folder."""
    n = first
    while True:
        candidate = f"jobs/{job_id}/{stem}{n}"
        referenced = db.scalar(select(Case.id).where(Case.job_id == job_id, Case.out_dir == candidate).limit(1))
        if referenced is None and (store is None or next(iter(store.list(candidate)), None) is None):
            return candidate
        n += 1


def fresh_run_dir(db: Session, job: Job, attempt: int) -> str:
    """The whole job's run folder for this try, numbered past its previous run.

    An operator's retry starts ``attempts`` again at 0, so naming the folder by the attempt alone
    reused the failed try's folder; where the bucket had also refused to delete that try's partial
    objects, they stayed among the new cases' files (the export lists a case folder whole). A
    folder of its own per try also lets the janitor remove a failed try's leftovers without racing
    the retry."""
    previous = RUN_NUMBER_RE.search(job.out_dir or "")
    return unused_run_dir(db, job.id, "run-", max(attempt, int(previous.group(1)) + 1 if previous else 1))


def claim(factory: sessionmaker[Session], job_id: int, max_attempts: int, owner: str = "",
          lease_s: float = 60.0) -> bool:
    """Atomically move a queued job to running under ``owner``'s lease (a conditional UPDATE,
    safe across workers and processes)."""
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
                error=None, cases_found=None, out_dir=fresh_run_dir(db, job, attempt), lease_owner=owner or None,
                lease_expires_at=expires(lease_s))
        )
        return res.rowcount == 1


def next_queued(factory: sessionmaker[Session]) -> int | None:
    with session_scope(factory) as db:
        return db.scalar(select(Job.id).where(Job.state == "queued").order_by(Job.created_at, Job.id).limit(1))


def analysis_report(out_dir: Path) -> tuple[list[str], dict[str, Any] | None]:
    """Warnings and what was seen, from the run's ``analysis.json`` (absent: none known)."""
    try:
        data = json.loads((out_dir / "analysis.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], None
    return report_of(data)


def report_of(data: Any) -> tuple[list[str], dict[str, Any] | None]:
    """``analysis_report`` of an ``analysis.json`` already read (a split job's parent reads its
    segments' from the evidence store: a pool worker keeps no local copy of a stored run)."""
    if not isinstance(data, dict):
        return [], None
    warnings = [str(w) for w in data.get("warnings") or [] if w]
    video = data.get("video") if isinstance(data.get("video"), dict) else {}
    seen = {"frames_decoded": video.get("frames_decoded"), "duration_s": video.get("duration_s"),
            "tracks": data.get("tracks_seen"), "tracks_per_zone": data.get("tracks_per_zone")}
    return warnings, seen


def _drop_run(store, out_dir: Path, data_dir: Path, stored: bool) -> None:  # noqa: ANN001
    """Remove a run this attempt put into a bucket that no case will refer to (the local folder
    is removed by the caller, as before stores)."""
    if stored and store.kind != "local":
        shutil.rmtree(out_dir, ignore_errors=True)
        try:
            store.delete_prefix(out_dir.relative_to(data_dir).as_posix())
        except Exception:  # noqa: BLE001 - the janitor's orphan sweep finds it later
            log.exception("could not remove the stored run %s", out_dir)


def run_job(job_id: int, factory: sessionmaker[Session], settings: Settings, analyze_fn: AnalyzeFn,
            make_options: Callable[[dict], Any], stopping: Callable[[], bool], owner: str | None = None,
            on_done: Callable[[list[str]], None] | None = None,
            on_stall: Callable[[int], None] | None = None) -> str | None:
    """Run one job end to end; returns the final state, or None when it was not ours to run (or
    stopped being ours: another worker took over after our lease ran out, or the job was failed
    as stalled).

    ``on_done`` receives the new pending cases of a finished job (the runner queues their
    publication media there, so the next job never waits for redaction); ``on_stall`` is called
    (from the heartbeat thread) when the analysis hung and the job was failed for it
    (``service.jobs.stall``)."""
    owner = owner or new_owner()
    if not claim(factory, job_id, settings.job_max_attempts, owner, settings.job_lease_s):
        return None
    liveness = Liveness()
    with Heartbeat(factory, job_id, owner, settings.job_lease_s, watch=stall_watch(settings, liveness, on_stall)):
        return _run_claimed(job_id, factory, settings, analyze_fn, make_options, stopping, owner, on_done,
                            liveness=liveness)


def stall_watch(settings: Settings, liveness: Liveness, on_stall: Callable[[int], None] | None) -> StallWatch | None:
    """The heartbeat's watch on the pipeline, or None when ``job_stall_s`` is 0 (off)."""
    if not settings.job_stall_s:
        return None
    return StallWatch(settings.job_stall_s, liveness, on_stall, evidence_store(settings))


def _is_drone(scene_yaml: str) -> bool:
    try:
        doc = yaml.safe_load(scene_yaml)
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and doc.get("kind") == "drone"


def _run_claimed(job_id: int, factory: sessionmaker[Session], settings: Settings, analyze_fn: AnalyzeFn,
                 make_options: Callable[[dict], Any], stopping: Callable[[], bool], owner: str,
                 on_done: Callable[[list[str]], None] | None, liveness: Liveness | None = None) -> str | None:
    data_dir = settings.data_dir
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        upload = job.upload
        camera = db.get(Camera, upload.camera_id)
        source = data_dir / upload.path
        out_dir = data_dir / job.out_dir
        # the camera's scene version now in force is the one this run is judged by (an edit made
        # while the job was queued applies); the job and its cases record it
        version = scenes.current(db, camera)
        scene_yaml = version.document if version is not None else camera.scene_yaml
        if version is not None and job.scene_version_id != version.id:
            db.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner).values(scene_version_id=version.id))
        started_at = upload.started_at
        # A drone camera's reference frame is what its flights are registered to (the zones are
        # drawn on it); the version's own copy, so a later new frame does not move old zones.
        reference = version.reference_path if version is not None else camera.reference_path
        # who flew it, as the operator gave it with the upload: carried into every case record
        flight = {"drone_id": upload.drone_id, "pilot": upload.pilot}
        # a live camera's segment: its own part of the window it is analysed in, and the
        # recording's analysis grid (service.live)
        live = live_segments.job_options(db, job_id, data_dir)
    # A copy of the scene as it was for this run: editing the camera later does not change history.
    scene_path = out_dir.parent / f"{out_dir.name}.scene.yaml"

    def write_progress(pct: float) -> None:
        with session_scope(factory) as db:
            db.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.lease_owner == owner)
                       .values(progress=pct))

    def read_cancel() -> bool:
        with session_scope(factory) as db:
            row = db.execute(select(Job.cancel_requested, Job.lease_owner, Job.state).where(Job.id == job_id)).first()
            # a job that is no longer ours (lease lost) stops like a cancelled one
            return row is None or bool(row[0]) or row[1] != owner or row[2] != "running"

    throttle = Throttle(write_progress, read_cancel, stopping, liveness=liveness)
    progress, should_cancel = throttle.progress, throttle.should_cancel

    t0 = time.monotonic()
    error: str | None = None
    result = None
    try:
        # Inside the try: a full disk or a folder this process may not write is the job's outcome,
        # said on the job; raised out of it, the job sat "running" until its lease ran out and
        # after job_max_attempts failed as "the process stopped during each run".
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        scene_path.write_text(scene_yaml, encoding="utf-8")
        # The operator's recording start time wins over the scene's default start_time (and over
        # the file's creation_time: detector.pipeline.wall_clock_start).
        given = {"start_time": started_at, "start_time_overrides_scene": True} if started_at else {}
        if reference and _is_drone(scene_yaml):
            flight = {**flight, "reference_image": data_dir / reference}
        options = make_options({**given, **flight, **live})
        with watched(liveness):
            result = analyze_fn(source, scene_path, out_dir, options, progress=progress, should_cancel=should_cancel)
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any pipeline failure is the job's outcome
        # SystemExit too: a library's sys.exit() on a file it cannot handle ended the worker thread
        # silently (threads swallow it), the job left 'running' with no worker to re-queue it.
        error = f"{type(err).__name__}: {err}"
        log.warning("job %s failed: %s", job_id, error)
    elapsed = time.monotonic() - t0

    cancelled = throttle.cancelled or (error is not None and "Cancelled" in error.split(":")[0])
    if stopping() and (error is not None or cancelled):
        # shutdown, not the user's cancel: back to the queue, the attempt not counted
        if release(factory, job_id, owner):
            shutil.rmtree(out_dir, ignore_errors=True)
            return "queued"
        return None
    store = evidence_store(settings)  # the data folder, or a bucket every worker writes to
    # Whether this attempt put anything into the store: set before the upload, because one that
    # fails half way (the bucket went away after some files) leaves a partial run under the job's
    # ``out_dir``, which the janitor keeps (a job names it) and no case will ever use: the failed
    # job removes it below (best effort, like every other run it drops).
    stored = False
    trust: RunTrust | None = None
    if error is None and not cancelled:
        # Before the store takes the run: a run changed since the analysis (a file and its hash in
        # the manifest, or a manifest signed again by another key) is refused, said on the job.
        try:
            trust = check_run(out_dir, installation_keys(settings), signs=getattr(analyze_fn, "signs_runs", False))
        except RunRefused as err:
            error = str(err)  # starts with its code: the jobs page says it in its language
            log.warning("job %s: %s", job_id, error)
    if error is None and not cancelled:
        try:
            stored = True
            store_run(store, out_dir.relative_to(data_dir).as_posix(), out_dir)
        except Exception as err:  # noqa: BLE001 - an unreachable bucket fails the job, visibly
            error = f"could not store the evidence: {type(err).__name__}: {err}"
            log.warning("job %s: %s", job_id, error)
    with session_scope(factory) as db:
        # the row lock makes the ownership check and the final write one step against a
        # concurrent requeue (FOR UPDATE on the jobs row only: PostgreSQL refuses it on the join)
        db.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        job = db.get(Job, job_id)
        if job is None or job.state != "running" or job.lease_owner != owner:
            log.warning("job %s is no longer this worker's (lease lost); its result is dropped", job_id)
            _drop_run(store, out_dir, data_dir, stored)
            return None
        cancelled = cancelled or job.cancel_requested
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
                job.warnings, job.seen = analysis_report(out_dir)
                if not job.warnings and getattr(result, "warnings", None):
                    job.warnings = [str(w) for w in result.warnings]
                note_unsigned(db, trust, job, cases, out_dir.relative_to(data_dir).as_posix())
                timings = getattr(result, "timings", None)
                job.video_seconds = float(getattr(timings, "video_s", 0.0) or 0.0) or job.upload.duration_s
                job.processing_seconds = elapsed
        job.finished_at = utcnow()
        job.cancel_requested = False
        job.lease_owner, job.lease_expires_at = None, None
        if job.state in ("cancelled", "failed"):
            shutil.rmtree(out_dir, ignore_errors=True)
            _drop_run(store, out_dir, data_dir, stored)
        discard_local_run(store, out_dir)
        state = job.state
        new_cases = pending_case_ids(db, job_id) if state == "done" else []
    # The job is done for the operator; the exposure-screen copies are made on the publication
    # queue, so neither the reviewer's approval nor the next job waits for redaction.
    events.cases_created(settings, factory, new_cases)  # MQTT / webhooks (service.events)
    if new_cases and on_done is not None:
        on_done(new_cases)
    return state
