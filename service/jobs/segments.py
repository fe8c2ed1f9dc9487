"""A long upload analysed in parallel: split it into segment rows, run one segment, finish the parent.

Each segment is the pipeline run over its own span of the source (``AnalyzeOptions(span=...)``;
the pipeline reads the pre-roll its rules need before the span and keeps only the cases decided
inside it: ``detector.segments``), so consecutive segments give every case exactly once and any
worker can run any segment in any order. A segment is queued, claimed, leased and retried exactly
like a job (``service.jobs.lease``), on its own row in ``job_segments``; the parent job holds no
lease while split (its segments do), shows the sum of its segments' progress (never less than it
has shown: ``show_parent_progress``), and finishes when the last segment has: done when all are,
else failed naming the segment, or cancelled.

Retries are bounded by ``job_max_attempts``: a worker that died (lease ran out) and, unlike the
in-process runner, an error both use a try, because on a pool an error can be the machine's (a
storage mount missing, memory) as well as the input's. Poison input ends failed after the last
try, with that try's error. A retried segment's cases land on the first try's rows
(``service.ingest.dedup_key`` under a unique index), so a retry never duplicates a case.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from detector.register import merge_losses, unregistered_warning
from service import events, scenes
from service.blobstore import BlobStore, as_store, evidence_store, join, read_bytes
from service.config import Settings
from service.db import session_scope
from service.ingest import RunKey, ingest_run
from service.job_report import warning_code
from service.jobs.lease import SPLIT_OWNER, Heartbeat, expires
from service.jobs.stall import Liveness, watched
from service.jobs.throttle import Throttle
from service.jobs.work import AnalyzeFn, report_of, stall_watch, unused_run_dir
from service.models import Camera, Case, Job, JobSegment, LiveSegment, SceneVersion, utcnow
from service.run_trust import RunRefused, RunTrust, check_run, installation_keys, note_unsigned

log = logging.getLogger(__name__)

TERMINAL = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class SegmentOutcome:
    """What ``run_segment`` did: ``state`` is the segment's new state (None: not ours to run);
    ``retry`` means it went back to the queue and needs a new task; ``parent`` is the parent's
    final state when this segment finished it."""

    state: str | None
    retry: bool = False
    parent: str | None = None
    new_cases: tuple[str, ...] = ()
    video_s: float = 0.0
    processing_s: float = 0.0


def split_spans(duration_s: float | None, settings: Settings) -> list[tuple[float, float]]:
    """The spans a source of ``duration_s`` is cut into; [] when it is analysed whole."""
    if not duration_s or duration_s <= settings.split_min_s:
        return []
    from detector.segments import plan_segments

    spans = [(float(s.start), float(s.end)) for s in plan_segments(duration_s, settings.segment_s)]
    return spans if len(spans) > 1 else []


def split_job(factory: sessionmaker[Session], settings: Settings, job_id: int, owner: str) -> list[int]:
    """Turn the job ``owner`` has claimed into a parent of queued segments; returns their ids,
    or [] when it is to run whole (short, not found, not ours, or a live camera's window, which
    carries its own span)."""
    with session_scope(factory) as db:
        db.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        job = db.get(Job, job_id)
        if job is None or job.state != "running" or job.lease_owner != owner:
            return []
        if db.scalar(select(LiveSegment.id).where(LiveSegment.job_id == job_id).limit(1)) is not None:
            return []
        spans = split_spans(job.upload.duration_s, settings)
        if not spans:
            return []
        # every segment is judged by the scene version in force now (an edit made while the
        # segments run does not mix two scenes in one job)
        version = scenes.current(db, db.get(Camera, job.upload.camera_id))
        if version is not None:
            job.scene_version_id = version.id
        db.execute(delete(JobSegment).where(JobSegment.job_id == job_id))  # a retried job splits afresh
        rows = [JobSegment(job_id=job_id, index=i, span_from_s=a, span_to_s=b, state="queued")
                for i, (a, b) in enumerate(spans)]
        db.add_all(rows)
        job.lease_owner, job.lease_expires_at, job.progress = SPLIT_OWNER, None, 0.0
        db.flush()
        log.info("job %s split into %d segments of %.0f s", job_id, len(rows), settings.segment_s)
        return [r.id for r in rows]


def claim_segment(factory: sessionmaker[Session], segment_id: int, settings: Settings, owner: str) -> bool:
    """Queued -> running under ``owner``'s lease (a conditional UPDATE: one worker wins). A segment
    out of tries ends failed; one whose parent was cancelled ends cancelled."""
    ended = None
    with session_scope(factory) as db:
        seg = db.get(JobSegment, segment_id)
        if seg is None or seg.state != "queued":
            return False
        parent = db.get(Job, seg.job_id)
        if parent is None or parent.cancel_requested or parent.state != "running":
            seg.state, seg.finished_at, ended = "cancelled", utcnow(), seg.job_id
        elif seg.attempts >= settings.job_max_attempts:
            seg.state, seg.finished_at, ended = "failed", utcnow(), seg.job_id
            seg.error = (f"gave up after {seg.attempts} tries (the worker stopped during the last)"
                         + (f"; an earlier try: {seg.error}" if seg.error else ""))[:4000]
        else:
            attempt = seg.attempts + 1
            # A retried split job splits afresh (new rows start again at attempt 1) while the cases
            # the earlier segments ingested stay in their runs: the folder skips those, and any
            # that still holds a failed try's objects.
            res = db.execute(update(JobSegment).where(JobSegment.id == segment_id, JobSegment.state == "queued").values(
                state="running", attempts=attempt, started_at=utcnow(), finished_at=None, progress=0.0,
                out_dir=unused_run_dir(db, seg.job_id, f"seg-{seg.index:03d}-run-", attempt, evidence_store(settings)),
                lease_owner=owner,
                lease_expires_at=expires(settings.job_lease_s), worker=socket.gethostname()[:64]))
            return res.rowcount == 1
    if ended is not None:
        finish_parent(factory, ended, evidence_store(settings))
    return False


def cancel_queued_segments(factory: sessionmaker[Session], job_id: int, where: BlobStore | Path | None = None) -> str | None:
    """The operator cancelled the split job: its segments still queued end cancelled now, unrun,
    and the job too when none of them runs (returns its outcome then). Left queued, each waited for
    a worker to reach its task (behind a backlog, hours) only to be cancelled there, the job shown
    running all that while. A running segment stops at its next frame and finishes the job itself.

    Conditional on the segment still being queued, so a worker's claim at the same moment either
    wins (its run sees the cancel) or finds the segment cancelled; the parent's row is locked first,
    the order every writer of a split job's rows takes."""
    with session_scope(factory) as db:
        db.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        job = db.get(Job, job_id)
        if job is None or job.state != "running" or job.lease_owner != SPLIT_OWNER or not job.cancel_requested:
            return None
        db.execute(update(JobSegment).where(JobSegment.job_id == job_id, JobSegment.state == "queued")
                   .values(state="cancelled", finished_at=utcnow(), lease_owner=None, lease_expires_at=None))
    return finish_parent(factory, job_id, where)


def parent_progress(db: Session, job_id: int) -> float:
    """Percent of the parent done: its segments' progress weighted by their span lengths."""
    rows = db.execute(select(JobSegment.span_from_s, JobSegment.span_to_s, JobSegment.progress, JobSegment.state)
                      .where(JobSegment.job_id == job_id)).all()
    total = sum(b - a for a, b, _, _ in rows)
    if not total:
        return 0.0
    done = sum((b - a) * (100.0 if state == "done" else float(p or 0.0)) for a, b, p, state in rows)
    return round(done / total, 1)


def show_parent_progress(db: Session, job_id: int, running: ColumnElement[bool]) -> None:
    """Write the split job's progress, only upward: ``parent_progress`` when it is more than the
    job shows, else nothing (``running``: the condition the job must still meet, e.g. running).

    A segment that is tried again (an error with tries left, its worker dead, a clean stop) starts
    its progress again from 0, and the sum of its segments' progress went back with it: the
    operator's job fell from a third done to a few percent. The work is to be done again, so the
    sum is right to drop; but the job's progress tells the operator how far the run has got, and a
    bar that goes back reads as a fault. So the job holds at the most it has shown (its segments'
    sum at that moment, a share that was analysed then, never more) until the segments' sum passes
    it again; the segment's own row keeps its retry's true progress and its tries, and that is
    where the repeat is seen. The same guard keeps two segments' reports committed out of order
    (each computed from what its transaction saw) from taking the job back. A new run of the job
    (``POST /api/jobs/{id}/retry``, a fresh split) starts again from 0 on purpose."""
    pct = parent_progress(db, job_id)
    db.execute(update(Job).where(Job.id == job_id, running, Job.progress < pct).values(progress=pct))


def finish_parent(factory: sessionmaker[Session], job_id: int, where: BlobStore | Path | None = None) -> str | None:
    """Give the split job its outcome once every segment has one; returns it to the one caller
    that gave it, None to any other (called after each segment's own commit, so the last segment
    to finish always sees all of them finished).

    ``where``: the evidence store (``evidence_store(settings)``; a data folder means the local
    store there), from which each segment's ``analysis.json`` is read for the job's warnings. Not
    the worker's local folder: a pool worker deletes its copy once the bucket holds the run, so
    the parent, finished after the last segment by any worker or the sweep, found none and lost
    every warning. A store that cannot be read now leaves the parent running (the sweep's
    ``stuck_parents`` finishes it later) rather than done with its warnings silently dropped.

    The outcome is written by a conditional UPDATE (still running, still split): on SQLite the
    ``FOR UPDATE`` is a no-op, so two segments ending together both read the parent as running,
    and both wrote the outcome, each told it finished the job; the later, stale write could even
    land on a job an operator had retried in between."""
    with session_scope(factory) as db:
        db.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        job = db.get(Job, job_id)
        if job is None or job.state != "running" or job.lease_owner != SPLIT_OWNER:
            return None
        still_split = (Job.id == job_id) & (Job.state == "running") & (Job.lease_owner == SPLIT_OWNER)
        segs = list(db.scalars(select(JobSegment).where(JobSegment.job_id == job_id).order_by(JobSegment.index)))
        if not segs or any(s.state not in TERMINAL for s in segs):
            show_parent_progress(db, job_id, still_split)
            return None
        failed = [s for s in segs if s.state == "failed"]
        values: dict[str, Any] = {
            "cases_found": len(list(db.scalars(select(Case.id).where(Case.job_id == job_id)))),
            "processing_seconds": sum(s.processing_seconds or 0.0 for s in segs),
            "video_seconds": sum(s.video_seconds or 0.0 for s in segs) or job.upload.duration_s,
        }
        if job.cancel_requested or any(s.state == "cancelled" for s in segs):
            values.update(state="cancelled", error=None)
        else:
            # The analysed segments' warnings, for a failed job too: their cases wait for review
            # under it, and what the analysis said of them (a damaged stretch, frames nothing was
            # judged in) still holds. An unsigned run's warning was noted on the job by a segment's
            # ingest (service.run_trust).
            warnings: list[str] = [w for w in job.warnings or [] if warning_code(str(w)) == "unsigned_run"]
            try:
                reports = segment_reports(as_store(where) if where is not None else None,
                                          [s for s in segs if s.state == "done"])
            except Exception:  # noqa: BLE001 - the store is down: finish later, with the warnings
                log.warning("split job %s: its segments' reports cannot be read from the evidence store now; "
                            "it is finished once they can", job_id, exc_info=True)
                return None
            for report in reports:
                for w in report_of(report)[0]:
                    # the flight's registration losses are told once, for the whole flight, below
                    if w not in warnings and warning_code(w) != "drone_unregistered":
                        warnings.append(w)
            flight = flight_unregistered(reports)
            if flight:
                warnings.append(flight)
            values["warnings"] = warnings
            if failed:
                values.update(state="failed", error="; ".join(
                    f"segment {s.index + 1} of {len(segs)} ({s.span_from_s:.1f}-{s.span_to_s:.1f} s) failed: {s.error}"
                    for s in failed)[:4000])
            else:
                values.update(state="done", error=None, progress=100.0,
                              seen={"segments": len(segs), "segment_s": [[s.span_from_s, s.span_to_s] for s in segs]})
        values.update(finished_at=utcnow(), cancel_requested=False, lease_owner=None, lease_expires_at=None)
        if db.execute(update(Job).where(still_split).values(**values)).rowcount != 1:
            return None  # another caller gave the outcome first
        log.info("split job %s %s", job_id, values["state"])
        return values["state"]


def segment_reports(store: BlobStore | None, segs: list[JobSegment]) -> list[dict]:
    """Each segment run's ``analysis.json`` as the evidence store holds it, in segment order; a
    run without one (or with an unreadable one) gives none, as a whole job's absent report does.
    A store that does not answer raises."""
    out = []
    for s in segs:
        if store is None or not s.out_dir:
            continue
        raw = read_bytes(store, join(s.out_dir, "analysis.json"))
        try:
            data = json.loads(raw) if raw is not None else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            out.append(data)
    return out


def flight_unregistered(reports: list[dict]) -> str | None:
    """The split job's warning for drone frames that could not be registered, for the whole flight:
    each segment's frames added up and its losses joined (one across a boundary is one period),
    said as a single run says it (``detector.register.unregistered_warning``). Each segment's own
    sentence counted its pre-roll (its neighbour's frames) too, and named no period: the flight's
    operator could not tell when nothing was judged. None when every frame was registered (or no
    segment's report says)."""
    frames = unregistered = 0
    losses: list[dict] = []
    reference = None
    for data in reports:
        reg = data.get("registration")
        if not isinstance(reg, dict):
            continue
        reference = reference or reg.get("reference")
        frames += int(reg.get("owned_frames", reg.get("frames")) or 0)
        unregistered += int(reg.get("owned_unregistered", reg.get("unregistered")) or 0)
        losses += [x for x in reg.get("losses") or [] if isinstance(x, dict)]
    if not unregistered:
        return None
    return unregistered_warning(unregistered, frames, reference or "scene", merge_losses(losses))


def run_segment(segment_id: int, factory: sessionmaker[Session], settings: Settings, analyze_fn: AnalyzeFn,
                make_options: Callable[[dict], Any], stopping: Callable[[], bool], owner: str,
                on_stall: Callable[[int], None] | None = None) -> SegmentOutcome:
    """Claim and run one segment end to end (the Celery task's body; tests call it directly).
    ``on_stall``: as for ``service.jobs.work.run_job``, with the segment's id."""
    if not claim_segment(factory, segment_id, settings, owner):
        return SegmentOutcome(None)
    liveness = Liveness()
    with Heartbeat(factory, segment_id, owner, settings.job_lease_s, model=JobSegment,
                   watch=stall_watch(settings, liveness, on_stall)):
        return _run_claimed(segment_id, factory, settings, analyze_fn, make_options, stopping, owner, liveness)


def _run_claimed(segment_id: int, factory: sessionmaker[Session], settings: Settings, analyze_fn: AnalyzeFn,
                 make_options: Callable[[dict], Any], stopping: Callable[[], bool], owner: str,
                 liveness: Liveness | None = None) -> SegmentOutcome:
    data_dir = settings.data_dir
    with session_scope(factory) as db:
        seg = db.get(JobSegment, segment_id)
        job = db.get(Job, seg.job_id)
        job_id, index, span = job.id, seg.index, (seg.span_from_s, seg.span_to_s)
        upload = job.upload
        source, out_dir, sha = data_dir / upload.path, data_dir / seg.out_dir, upload.sha256
        version = db.get(SceneVersion, job.scene_version_id) if job.scene_version_id else None
        scene_yaml = version.document if version is not None else db.get(Camera, upload.camera_id).scene_yaml
        given = {"start_time": upload.started_at, "start_time_overrides_scene": True} if upload.started_at else {}
        flight = {"drone_id": upload.drone_id, "pilot": upload.pilot}
        reference = version.reference_path if version is not None else None
    scene_path = out_dir.parent / f"seg-{index:03d}.scene.yaml"

    def write_progress(pct: float) -> None:
        with session_scope(factory) as db:
            res = db.execute(update(JobSegment).where(JobSegment.id == segment_id, JobSegment.lease_owner == owner,
                                                      JobSegment.state == "running").values(progress=pct))
            if res.rowcount:
                show_parent_progress(db, job_id, Job.state == "running")

    def read_cancel() -> bool:
        with session_scope(factory) as db:
            row = db.execute(select(JobSegment.lease_owner, JobSegment.state).where(JobSegment.id == segment_id)).first()
            parent = db.execute(select(Job.cancel_requested, Job.state).where(Job.id == job_id)).first()
            lost = row is None or row[0] != owner or row[1] != "running"
            return lost or parent is None or bool(parent[0]) or parent[1] != "running"

    throttle = Throttle(write_progress, read_cancel, stopping, liveness=liveness)
    progress, should_cancel = throttle.progress, throttle.should_cancel

    t0 = time.monotonic()
    error: str | None = None
    options = None
    try:
        # Inside the try: a full disk is the try's outcome, said on the segment (raised out of it,
        # the segment sat "running" until its lease ran out, its reason never recorded).
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        scene_path.write_text(scene_yaml, encoding="utf-8")
        if reference and _is_drone(scene_yaml):
            flight = {**flight, "reference_image": data_dir / reference}
        options = make_options({**given, **flight, "span": span})
        with watched(liveness):
            analyze_fn(source, scene_path, out_dir, options, progress=progress, should_cancel=should_cancel)
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any pipeline failure (a library's sys.exit too) is the segment's outcome
        error = f"{type(err).__name__}: {err}"
        log.warning("segment %s (job %s, %s) failed: %s", index, job_id, span, error)
    elapsed = time.monotonic() - t0
    cancelled = throttle.cancelled or (error is not None and "Cancelled" in error.split(":")[0])

    if stopping() and (error is not None or cancelled):
        # the worker is shutting down, not the user's cancel: back to the queue, the try not counted
        if release_segment(factory, segment_id, owner):
            shutil.rmtree(out_dir, ignore_errors=True)
            return SegmentOutcome("queued", retry=True)
        return SegmentOutcome(None)

    store = evidence_store(settings)
    run_rel = out_dir.relative_to(data_dir).as_posix()
    trust: RunTrust | None = None
    if error is None and not cancelled:  # a run changed since the analysis is refused (service.run_trust)
        try:
            trust = check_run(out_dir, installation_keys(settings), signs=getattr(analyze_fn, "signs_runs", False))
        except RunRefused as err:
            error = str(err)
            log.warning("segment %s (job %s): %s", index, job_id, error)
    if error is None and not cancelled:
        try:
            store.commit_tree(run_rel, out_dir, keep_local=True)  # evidence where every worker's goes
        except Exception as err:  # noqa: BLE001 - an unreachable store fails the try, visibly
            error = f"could not store the evidence: {type(err).__name__}: {err}"
    run_key = RunKey(sha, span, str(getattr(options, "model", None) or "default"), None)
    outcome = _record(factory, settings, segment_id, job_id, owner, out_dir, run_key, error, cancelled, elapsed,
                      trust)
    if outcome.state in ("failed", "cancelled", "queued") or outcome.state is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        if store.kind != "local":
            try:
                store.delete_prefix(run_rel)
            except Exception:  # noqa: BLE001 - the janitor's orphan sweep finds it later
                log.exception("could not remove the stored run %s", run_rel)
    elif store.kind != "local":
        shutil.rmtree(out_dir, ignore_errors=True)  # a worker keeps no evidence on its own disk
    if outcome.new_cases:
        events.cases_created(settings, factory, list(outcome.new_cases))
    parent = finish_parent(factory, job_id, store) if outcome.state in TERMINAL else None
    return SegmentOutcome(outcome.state, outcome.retry, parent, outcome.new_cases, outcome.video_s, outcome.processing_s)


def _record(factory: sessionmaker[Session], settings: Settings, segment_id: int, job_id: int, owner: str,
            out_dir: Path, run_key: RunKey, error: str | None, cancelled: bool, elapsed: float,
            trust: RunTrust | None = None) -> SegmentOutcome:
    """Write the try's outcome, conditional on still holding the lease (rows locked: parent, then
    segment, the order every writer of a split job's rows takes)."""
    for _ in range(2):
        with session_scope(factory) as db:
            db.execute(select(Job.id).where(Job.id == job_id).with_for_update())
            db.execute(select(JobSegment.id).where(JobSegment.id == segment_id).with_for_update())
            seg = db.get(JobSegment, segment_id)
            if seg is None or seg.state != "running" or seg.lease_owner != owner:
                log.warning("segment %s is no longer this worker's (lease lost); its result is dropped", segment_id)
                return SegmentOutcome(None)
            job = db.get(Job, job_id)
            run_key = RunKey(run_key.source_sha256, run_key.span, run_key.model, job.scene_version_id)
            new: list[str] = []
            if cancelled or job.cancel_requested:
                seg.state, seg.error = "cancelled", None
            elif error is not None:
                if seg.attempts < settings.job_max_attempts:
                    seg.state, seg.error = "queued", error[:4000]
                else:
                    seg.state = "failed"
                    seg.error = f"failed on each of {seg.attempts} tries, the last: {error}"[:4000]
            else:
                before = set(db.scalars(select(Case.id).where(Case.job_id == job_id)))
                try:
                    rows = ingest_run(db, job, out_dir, settings.data_dir, run_key=run_key, id_prefix=f"s{seg.index}-")
                except Exception as err:  # noqa: BLE001 - an unreadable run or a unique-key race
                    db.rollback()
                    error = f"could not ingest the results: {type(err).__name__}: {err}"
                    log.warning("segment %s: %s", segment_id, error)
                    continue  # again, as an error (locks and ownership taken afresh)
                new = [r.id for r in rows if r.id not in before and r.state == "pending"]
                note_unsigned(db, trust, job, rows, out_dir.relative_to(settings.data_dir).as_posix())
                seg.state, seg.progress, seg.error, seg.cases_found = "done", 100.0, None, len(rows)
                seg.video_seconds = seg.span_to_s - seg.span_from_s
                seg.processing_seconds = elapsed
            seg.finished_at = utcnow() if seg.state in TERMINAL else None
            seg.lease_owner, seg.lease_expires_at = None, None
            if seg.state == "queued":
                seg.progress = 0.0
            return SegmentOutcome(seg.state, retry=seg.state == "queued", new_cases=tuple(new),
                                  video_s=(seg.video_seconds or 0.0) if seg.state == "done" else 0.0,
                                  processing_s=elapsed)
    return SegmentOutcome(None)


def release_segment(factory: sessionmaker[Session], segment_id: int, owner: str) -> bool:
    """A clean stop: the segment goes back to the queue and the interrupted try is not counted."""
    with session_scope(factory) as db:
        res = db.execute(update(JobSegment).where(JobSegment.id == segment_id, JobSegment.lease_owner == owner,
                                                  JobSegment.state == "running")
                         .values(state="queued", progress=0.0, attempts=JobSegment.attempts - 1,
                                 lease_owner=None, lease_expires_at=None))
        return res.rowcount == 1


def queued_work(factory: sessionmaker[Session]) -> tuple[list[int], list[int]]:
    """Queued jobs and queued segments (a fresh start publishes a task for each: duplicates are
    harmless, a claim is conditional)."""
    with session_scope(factory) as db:
        jobs = list(db.scalars(select(Job.id).where(Job.state == "queued").order_by(Job.created_at, Job.id)))
        segs = list(db.scalars(select(JobSegment.id).where(JobSegment.state == "queued").order_by(JobSegment.id)))
        return jobs, segs


def stuck_parents(factory: sessionmaker[Session]) -> list[int]:
    """Split jobs still running though every segment ended (a worker died between the two writes)."""
    with session_scope(factory) as db:
        return list(db.scalars(select(Job.id).where(Job.state == "running", Job.lease_owner == SPLIT_OWNER)))


def _is_drone(scene_yaml: str) -> bool:
    from service.jobs.work import _is_drone as is_drone

    return is_drone(scene_yaml)


__all__ = ["SPLIT_OWNER", "SegmentOutcome", "cancel_queued_segments", "claim_segment", "finish_parent", "queued_work", "release_segment", "run_segment", "show_parent_progress", "split_job", "split_spans", "stuck_parents"]
