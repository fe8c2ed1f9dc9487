"""Processing jobs: follow, cancel, retry."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import audit
from service.api.common import Offset, RowId, iso, job_json, refuse_retired
from service.api.schemas import JobOut, JobReport
from service.display_names import zone_name_map
from service.errors import ApiError, responses
from service.blobstore import evidence_store
from service.job_report import warning_items
from service.jobs.segments import SPLIT_OWNER, cancel_queued_segments
from service.models import JOB_STATES, Camera, Case, Job, JobSegment, Upload, utcnow
from service.scenes import timezone_of
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=responses(401, 403))
viewers = require_roles("operator", "admin", "reviewer")
controllers = require_roles("operator", "admin")


def _visible(who: Principal, job: Job) -> bool:
    if who.role in ("admin", "reviewer"):
        return True
    up = job.upload
    return (who.kind == "user" and up.owner_user_id == who.user_id) or (
        who.kind == "token" and up.owner_token_id == who.token_id)


def _report(db: Session, jobs: list[Job]) -> list[dict]:
    """Job rows with what the operator in the field needs on top of the state: the analysis's
    warnings, what it saw (tracks per zone: "nothing found" vs "nothing looked at") and links to
    the cases it produced (one query for all listed jobs)."""
    ids = [j.id for j in jobs]
    by_job: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        rows = db.execute(select(Case.id, Case.job_id, Case.rule, Case.state, Case.start_time)
                          .where(Case.job_id.in_(ids)).order_by(Case.start_s, Case.id))
        for case_id, job_id, rule, state, start_time in rows:
            by_job[job_id].append({"id": case_id, "rule": rule, "state": state, "start_time": iso(start_time),
                                   "url": f"/review?case={quote(case_id)}"})
    parts: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        for seg in db.scalars(select(JobSegment).where(JobSegment.job_id.in_(ids)).order_by(JobSegment.job_id, JobSegment.index)):
            parts[seg.job_id].append({
                "index": seg.index, "span": [round(seg.span_from_s, 3), round(seg.span_to_s, 3)], "state": seg.state,
                "progress": round(seg.progress, 1), "attempts": seg.attempts, "error": seg.error,
                "cases_found": seg.cases_found, "worker": seg.worker})
    # the scene each job was analysed with (its version; the camera's current one for older jobs)
    cams = {j.upload.camera_id for j in jobs if j.upload and j.scene_version is None}
    scenes = dict(db.execute(select(Camera.id, Camera.scene_yaml).where(Camera.id.in_(cams))).all()) if cams else {}
    out = []
    for j in jobs:
        counted = list(((j.seen or {}).get("tracks_per_zone") or {}).keys())
        document = (j.scene_version.document if j.scene_version is not None
                    else scenes.get(j.upload.camera_id) if j.upload else None)
        out.append({**job_json(j), "warnings": warning_items(j.warnings), "seen": j.seen,
                    # the counted zones' display names per language (the page shows no key it has a name for)
                    "zone_names": zone_name_map(document, counted),
                    # the page shows the job's times in its scene's zone, as the cases' pages do
                    "timezone": timezone_of(document, j.upload.camera_id) if j.upload else None,
                    "cases": by_job[j.id], "started_at_given": iso(j.upload.started_at) if j.upload else None,
                    "drone_id": j.upload.drone_id if j.upload else None, "pilot": j.upload.pilot if j.upload else None,
                    "segments": parts[j.id]})
    return out


def _job(db: Session, job_id: int, who: Principal) -> Job:
    job = db.get(Job, job_id)
    if job is None or not _visible(who, job):
        raise ApiError(404, f"no job {job_id}")
    return job


@router.get("", response_model=list[JobReport])
def list_jobs(db: Session = Depends(get_db), who: Principal = Depends(viewers), state: str | None = None,
              limit: int = 100, offset: Offset = 0) -> list[dict]:
    q = select(Job).join(Upload).order_by(Job.id.desc()).limit(max(1, min(limit, 1000))).offset(max(0, offset))
    if state:
        if state not in JOB_STATES:
            raise ApiError(422, f"state: one of {', '.join(JOB_STATES)}")
        q = q.where(Job.state == state)
    if who.role == "operator":
        q = q.where(Upload.owner_token_id == who.token_id) if who.kind == "token" else q.where(Upload.owner_user_id == who.user_id)
    return _report(db, list(db.scalars(q).unique()))


@router.get("/{job_id}", response_model=JobReport, responses=responses(404))
def get_job(job_id: RowId, db: Session = Depends(get_db), who: Principal = Depends(viewers)) -> dict:
    return _report(db, [_job(db, job_id, who)])[0]


@router.post("/{job_id}/cancel", response_model=JobOut, responses=responses(404, 409))
def cancel_job(job_id: RowId, request: Request, db: Session = Depends(get_db), who: Principal = Depends(controllers)) -> dict:
    job = _job(db, job_id, who)
    # Conditional writes: the worker claims and finishes jobs on its own schedule, so the state read
    # above may be gone by now. A queued job is cancelled only while still queued (else the
    # worker's run would be overwritten under its feet); a running one is asked to stop, which the
    # worker sees at the next analysis frame; a job that ended meanwhile is refused, not marked.
    res = db.execute(update(Job).where(Job.id == job.id, Job.state == "queued")
                     .values(state="cancelled", finished_at=utcnow()))
    if res.rowcount != 1:
        res = db.execute(update(Job).where(Job.id == job.id, Job.state == "running").values(cancel_requested=True))
    if res.rowcount != 1:
        db.rollback()
        db.refresh(job)
        raise ApiError(409, f"job {job_id} is {job.state}; only queued or running jobs can be cancelled", state=job.state)
    audit.record(db, request, who, "job.cancel", "job", job.id)
    db.commit()
    db.refresh(job)
    if job.state == "running" and job.lease_owner == SPLIT_OWNER:
        # its queued segments end now, not when a worker reaches each (service.jobs.segments)
        settings = request.app.state.settings
        if cancel_queued_segments(request.app.state.session_factory, job.id, evidence_store(settings)):
            db.refresh(job)
    return job_json(job)


@router.post("/{job_id}/retry", response_model=JobOut, responses=responses(404, 409))
def retry_job(job_id: RowId, request: Request, db: Session = Depends(get_db), who: Principal = Depends(controllers)) -> dict:
    job = _job(db, job_id, who)
    if job.state not in ("failed", "cancelled"):
        raise ApiError(409, f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried", state=job.state)
    cam = db.get(Camera, job.upload.camera_id) if job.upload else None
    if cam is not None:
        refuse_retired(cam)  # a retry is a new run: a retired camera takes none
    if job.upload is not None and not (request.app.state.settings.data_dir / job.upload.path).is_file():
        # a live camera's window goes with its rolling footage (live_retention_days): a retry would
        # only fail again, as "no such file", after waiting its turn in the queue
        raise ApiError(409, f"job {job_id} cannot be run again: its footage ({job.upload.filename}) is no "
                            "longer kept on the server", code="footage_gone")
    # Conditional, as cancel: two operators retrying at once (or a retry as another queues it) make
    # one new run and one audit entry; the second is told the job is queued already.
    res = db.execute(update(Job).where(Job.id == job.id, Job.state.in_(("failed", "cancelled")))
                     .values(state="queued", progress=0.0, error=None, attempts=0, cancel_requested=False,
                             finished_at=None))
    if res.rowcount != 1:
        db.rollback()
        db.refresh(job)
        raise ApiError(409, f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried", state=job.state)
    audit.record(db, request, who, "job.retry", "job", job.id)
    db.commit()
    db.refresh(job)
    request.app.state.runner.submit(job.id)
    return job_json(job)
