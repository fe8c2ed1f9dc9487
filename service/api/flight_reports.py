"""A job's flight report: make it (the job page's button) and serve its files.

Operators, reviewers and administrators may make and read the report of a job they may see (an
operator: the jobs of their own uploads). The report page is a static document with no script; it
is served with a policy of its own that lets it show its video and stills and run nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy.orm import Session

from service import audit
from service.api.common import ApiModel, RowId
from service.api.jobs import _job
from service.api.schemas import FlightReportOut, binary
from service.errors import responses
from service.flight_report import approved_cases, make_job_report, report_file, report_json
from service.publication import replace_stale
from service.security import Principal, get_db, require_roles
from service.verified_serve import VerifiedFileResponse

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=responses(401, 403))
Db = Annotated[Session, Depends(get_db)]
Staff = Annotated[Principal, Depends(require_roles("operator", "admin", "reviewer"))]

# The report page: its own styles, its own video and stills; no script, no form, no framing.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class FlightReportIn(ApiModel):
    """``publication``: made from the redacted media only, for the public; else the internal
    report for the responsible unit. ``unit``: that unit's name, printed as the addressee."""

    publication: bool = False
    unit: str | None = Field(default=None, max_length=200)


@router.post(
    "/{job_id}/flight-report",
    response_model=FlightReportOut,
    responses=responses(404, 409),
)
def make_flight_report(
    job_id: RowId,
    request: Request,
    db: Db,
    who: Staff,
    body: FlightReportIn | None = None,
) -> dict:
    """Make (or find, when nothing changed) the flight report of the job's approved cases."""
    body = body or FlightReportIn()
    job = _job(db, job_id, who)
    unit = " ".join((body.unit or "").split())
    if body.publication:
        # The public variant shows the redacted media: a case's made under another redaction
        # policy or from replaced evidence are made again first (not_ready meanwhile). A published
        # case's too: the screens refuse them as well, and only approved ones were made again, so
        # the report was made of the published cases' old, perhaps unblurred, media.
        settings = request.app.state.settings
        publisher = getattr(request.app.state.runner, "publisher", None)
        for case in approved_cases(db, job):
            replace_stale(db, case, settings, publisher)
    made = make_job_report(
        db,
        job,
        request.app.state.settings,
        publication=body.publication,
        unit=unit,
        made_by=who.actor,
    )
    out = report_json(job.id, made)
    audit.record(
        db,
        request,
        who,
        "job.flight_report",
        "job",
        job.id,
        report=made.report_id,
        publication=body.publication,
        reused=made.reused,
        cases=out["cases"],
        sha256=out["sha256"],
    )
    db.commit()
    return out


@router.get(
    "/{job_id}/flight-reports/{report_id}/{name:path}",
    response_class=FileResponse,  # documents a file; the route sends a VerifiedFileResponse
    responses={
        **binary(
            "a file of the report",
            "text/html",
            "video/mp4",
            "application/pdf",
            "image/jpeg",
        ),
        **responses(404, 409, 416),
    },
)
def flight_report_file(
    job_id: RowId, report_id: str, name: str, request: Request, db: Db, who: Staff
) -> VerifiedFileResponse:
    """One file of a made report, sent only as the bytes its record vouches for."""
    job = _job(db, job_id, who)
    settings = request.app.state.settings
    path, sha, media_type = report_file(settings, job.id, report_id, name)
    headers = {"Cache-Control": "private, no-store"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = REPORT_CSP
    return VerifiedFileResponse(
        path,
        sha,
        media_type,
        headers=headers,
        chunk_size=settings.chunk_size,
        problem_detail="the report file fails its integrity check",
    )
