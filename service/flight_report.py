"""A job's flight report, made by the service (the job page's button, ``POST /api/jobs/{id}/flight-report``).

Which cases: the job's cases a reviewer approved (``approved`` or ``published``), in time order.
Which media: for the responsible unit (``internal``), the evidence clip and snapshot, each case's
evidence first checked against its manifest and the hashes taken at ingest; for the public
(``publication``), only the redacted ``published.mp4`` / ``published.jpg`` made at approval,
checked against the hashes recorded then. A case whose redacted media are not made yet (the
publication queue is behind) stops a public report with 409: the original is never used instead.

A report is kept in ``jobs/<job>/reports/<variant>-<key>/`` (``detector.reports.flight`` layout),
where ``key`` digests what it was made from (the cases, their decisions, the media hashes, the
addressee): asking again returns the report already made, a changed decision makes a new one.
Its files are served only as the bytes ``report.json`` lists (``service.verified_serve``).
Reports are derived from the evidence and can be made again; nothing else refers to them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.reports import ReportInfo, build_flight_report, report_case
from detector.reports.cases import CaseRecordError
from detector.reports.flight import RECORD_NAME, ReportError, ReportExistsError
from detector.scene import Scene, SceneError, load_scene_text
from service.blobstore import evidence_store, join
from service.config import Settings
from service.errors import ApiError
from service.integrity import check_case, check_published
from service.models import Camera, Case, Job, utcnow
from service.publication import made_from_current
from service.redaction import IMAGE_NAME, VIDEO_NAME

APPROVED = ("approved", "published")
VARIANTS = ("internal", "publication")
REPORT_ID = re.compile(r"^(internal|publication)-[0-9a-f]{16}$")
# The files of a report folder that may be served (report.json stays on the server: it names the
# evidence files the report was made from).
SERVED = re.compile(r"^(report\.html|report\.pdf|flight\.mp4|stills/\d{2,4}\.jpg)$")
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}


@dataclass
class MadeReport:
    report_id: str
    folder: Path
    record: dict
    reused: bool


def approved_cases(db: Session, job: Job) -> list[Case]:
    return list(
        db.scalars(
            select(Case)
            .where(Case.job_id == job.id, Case.state.in_(APPROVED))
            .order_by(Case.start_s, Case.id)
        )
    )


def _scene(db: Session, job: Job) -> Scene | None:
    """The scene the job was analysed with (names the place in both languages), if it parses."""
    document = job.scene_version.document if job.scene_version is not None else None
    if document is None and job.upload is not None:
        cam = db.get(Camera, job.upload.camera_id)
        document = cam.scene_yaml if cam is not None else None
    try:
        return load_scene_text(document, "scene") if document else None
    except SceneError:
        return None


def _key(cases: list[Case], publication: bool, unit: str, job: Job) -> str:
    made_from = {
        "v": 1,
        "publication": publication,
        "unit": unit,
        "scene_version": job.scene_version_id,
        "cases": [
            [
                c.id,
                c.state,
                c.decided_at.isoformat() if c.decided_at else None,
                c.published_hashes if publication else c.evidence_hashes,
            ]
            for c in cases
        ],
    }
    return hashlib.sha256(
        json.dumps(made_from, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]


def _public_media_ready(case: Case, settings: Settings) -> None:
    """ApiError 409 ``not_ready`` unless ``case`` has its redacted clip and still, made under the
    ``redaction_policy`` in force from its evidence as it is now (``made_from_current``), as the
    screens' feed requires. Checked before a report made already is handed back: media made under
    another policy (``none`` before redaction was turned on) are what the screens refuse, and a
    public report made of them, or made before the change and found again by its key, showed
    the bystanders unblurred."""
    if (
        not case.published_hashes
        or not {VIDEO_NAME, IMAGE_NAME} <= set(case.published_hashes)
        or not made_from_current(case, settings.redaction_policy)
    ):
        raise ApiError(
            409,
            f"the redacted media of case {case.id} are still being made; try again shortly",
            code="not_ready",
            case_id=case.id,
        )


def _media(case: Case, settings: Settings, publication: bool) -> tuple[str, str]:
    """The store keys (``service.blobstore``) of the clip and still the report may show of
    ``case``, checked; ApiError 409 when it may not."""
    if publication:
        _public_media_ready(case, settings)
        check = check_published(case, evidence_store(settings), settings.chunk_size)
        if not check.ok:
            raise ApiError(
                409,
                f"the redacted media of case {case.id} fail their integrity check",
                code="integrity_failed",
                case_id=case.id,
                problems=check.problems,
            )
        return join(case.published_dir, VIDEO_NAME), join(case.published_dir, IMAGE_NAME)
    check = check_case(case, evidence_store(settings), settings.chunk_size)
    if not check.ok:
        raise ApiError(
            409,
            f"the evidence of case {case.id} does not match its manifest",
            code="integrity_failed",
            case_id=case.id,
            problems=check.problems,
        )
    clip, snapshot = case.evidence.get("clip"), case.evidence.get("snapshot")
    if not clip or not snapshot:
        raise ApiError(
            409,
            f"case {case.id} has no evidence clip or snapshot to show",
            code="no_media",
            case_id=case.id,
        )
    return join(case.out_dir, clip), join(case.out_dir, snapshot)


def _info(job: Job, publication: bool, unit: str, made_by: str, tz: str) -> ReportInfo:
    up = job.upload
    try:
        made_at = utcnow().astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        made_at = utcnow()
    # The public report names the place and the drone, not the people or the file.
    return ReportInfo(
        unit=unit,
        camera=up.camera_id if up else "",
        drone_id=(up.drone_id or "") if up else "",
        pilot="" if publication or up is None else (up.pilot or ""),
        source="" if publication or up is None else up.filename,
        publication=publication,
        reviewed=True,
        made_at=made_at,
        made_by="" if publication else made_by,
    )


def reports_dir(settings: Settings, job_id: int) -> Path:
    return settings.jobs_dir / str(job_id) / "reports"


def _read_record(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (
        record
        if isinstance(record, dict) and isinstance(record.get("files"), dict)
        else None
    )


def make_job_report(
    db: Session,
    job: Job,
    settings: Settings,
    *,
    publication: bool,
    unit: str,
    made_by: str,
) -> MadeReport:
    """The flight report of ``job``'s approved cases: the one made already for the same cases,
    decisions and media, else a new one. ApiError 409 when there is nothing (or nothing safe) to show."""
    if job.state != "done":
        raise ApiError(
            409,
            f"job {job.id} is {job.state}; a flight report needs a finished job",
            code="job_not_done",
            state=job.state,
        )
    cases = approved_cases(db, job)
    if not cases:
        raise ApiError(
            409,
            f"job {job.id} has no approved case to report",
            code="no_approved_cases",
        )
    if publication:
        for case in cases:
            _public_media_ready(case, settings)
    variant = VARIANTS[publication]
    report_id = f"{variant}-{_key(cases, publication, unit, job)}"
    folder = reports_dir(settings, job.id) / report_id
    record = _read_record(folder)
    if record is not None:
        return MadeReport(report_id, folder, record, True)
    cam = db.get(Camera, job.upload.camera_id) if job.upload else None
    scene = _scene(db, job)
    chosen = []
    store = evidence_store(settings)
    with contextlib.ExitStack() as files:  # the evidence files themselves, or downloads from a bucket
        return _build(job, settings, cases, cam, scene, store, files, folder, report_id, chosen,
                      publication=publication, unit=unit, made_by=made_by)


def _build(job: Job, settings: Settings, cases: list[Case], cam: Camera | None, scene: Scene | None, store,  # noqa: ANN001
           files: contextlib.ExitStack, folder: Path, report_id: str, chosen: list, *, publication: bool,
           unit: str, made_by: str) -> MadeReport:
    for number, case in enumerate(cases, 1):
        clip_key, still_key = _media(case, settings, publication)
        clip = files.enter_context(store.local_copy(clip_key))
        still = files.enter_context(store.local_copy(still_key))
        try:
            chosen.append(
                report_case(
                    dict(case.data, id=case.id),
                    number=number,
                    clip=clip,
                    still=still,
                    scene=scene,
                    mark_offender=not publication,
                )
            )
        except CaseRecordError as err:
            raise ApiError(
                409, f"case {case.id}: {err}", code="bad_case_record", case_id=case.id
            ) from None
    info = _info(
        job,
        publication,
        unit,
        made_by,
        # the zone of the scene the job was judged by, the one its cases' times are given in
        (scene.timezone if scene is not None else None) or (cam.timezone if cam is not None else settings.timezone),
    )
    try:
        made = build_flight_report(chosen, folder, info)
    except ReportExistsError:  # made meanwhile by an identical request
        record = _read_record(folder)
        if record is None:
            raise ApiError(
                409,
                "the same report is being made by another request; try again shortly",
                code="conflict",
            ) from None
        return MadeReport(report_id, folder, record, True)
    except ReportError as err:
        raise ApiError(
            409, f"the flight report cannot be made: {err}", code="report_failed"
        ) from None
    return MadeReport(report_id, folder, made.record, False)


def report_file(
    settings: Settings, job_id: int, report_id: str, name: str
) -> tuple[Path, str, str]:
    """``(path, sha256, media type)`` of a served file of a made report; ApiError 404 otherwise."""
    if not REPORT_ID.match(report_id) or not SERVED.match(name):
        raise ApiError(404, f"no file {name!r} in flight report {report_id!r}")
    folder = reports_dir(settings, job_id) / report_id
    record = _read_record(folder)
    sha = (record or {}).get("files", {}).get(name)
    if not sha:
        raise ApiError(
            404, f"no file {name!r} in flight report {report_id!r} of job {job_id}"
        )
    return folder / name, str(sha), MEDIA_TYPES[Path(name).suffix]


def report_json(job_id: int, made: MadeReport) -> dict:
    """What the API answers about a report: its links and what it holds."""
    base = f"/api/jobs/{job_id}/flight-reports/{made.report_id}"
    rec = made.record
    return {
        "report_id": made.report_id,
        "publication": bool(rec.get("publication")),
        "reused": made.reused,
        "made_at": rec.get("made_at"),
        "unit": rec.get("unit"),
        "cases": [c.get("id") for c in rec.get("cases", [])],
        "counts": rec.get("counts", []),
        "duration_s": (rec.get("video") or {}).get("duration_s"),
        "html_url": f"{base}/report.html",
        "video_url": f"{base}/flight.mp4",
        "pdf_url": f"{base}/report.pdf",
        "sha256": {k: v for k, v in rec.get("files", {}).items() if SERVED.match(k)},
    }
