"""Case review: queue, detail with integrity status, transitions, original evidence, export."""

from __future__ import annotations

import json
import mimetypes
import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import Field
from sqlalchemy import func, literal, null, select, tuple_, update
from sqlalchemy.orm import Session

from civicwatch import __version__
from service import audit, events, local_time
from service.annotation import ANNOTATED_KIND, AnnotationError, can_render, ensure_annotated, on_demand_paths
from service.api.audit_log import entries_of_cases
from service.api.case_rows import summary_rows
from service.api.case_schema import AnnotatedClipOut, CaseDetail, CasePage, DecidedCase
from service.api.common import ApiModel, Offset, case_summary, case_version, iso, parse_when
from service.api.schemas import binary
from service.api.zipstream import zip_stream
from service.blobstore import BadKey, BlobRef, evidence_store, join, read_bytes
from service.errors import ApiError, responses
from service.export_signing import ExportManifest
from service.ingest import manifest_files
from service.integrity import check_case, check_published
from service.plate_search import QUERY_MAX, QUERY_MIN, PlateQueryError, query_key
from service.plates import VEHICLE_CLASSES
from service.publication import PUBLISHED_SHEET, approval_media, queue_missing, replace_stale
from service.case_number import publish_numbered
from service.decision_locks import deciding
from service.display_names import case_names, judged_documents, scene_zone_names, zone_names
from service.models import CASE_STATES, AuditEntry, Camera, Case, Upload, Job, utcnow
from service.reject_reasons import UNLISTED, RejectReason, reason_code
from service.scenes import case_scene, of_case, timezone_of
from service.security import Principal, get_db, require_roles
from service.thumbnails import STILL_KINDS, THUMB_WIDTHS, blob_thumbnail
from service.undo_window import undo_until
from service.verified_serve import VerifiedBlobResponse

router = APIRouter(prefix="/api/cases", tags=["cases"], responses=responses(401, 403))
reviewers = require_roles("reviewer", "admin")

# Keys a case answer leaves out (a scene version's document, a sheet the published media lack) stay out.
AS_BUILT = {"response_model_exclude_unset": True}
EVIDENCE_VIEW_KINDS = ("clip", "annotated", "snapshot", "crop", "sheet", "tracks")
# from-states allowed for each action, and the state it leads to
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (("pending",), "approved"),
    "reject": (("pending",), "rejected"),
    "publish": (("approved",), "published"),
    "withdraw": (("approved", "published"), "withdrawn"),
}


def _case(db: Session, case_id: str) -> Case:
    case = db.get(Case, case_id)
    if case is None:
        raise ApiError(404, f"no case {case_id!r}")
    return case


@router.get("", response_model=CasePage)
def list_cases(request: Request, db: Session = Depends(get_db), _: Principal = Depends(reviewers),
               state: str | None = None, rule: str | None = None, camera: str | None = None,
               date_from: str | None = None, date_to: str | None = None, limit: int = 50, offset: Offset = 0,
               created_since: str | None = None,
               after: Annotated[str | None, Query(max_length=160, description=AFTER_HELP)] = None,
               plate: Annotated[str | None, Query(max_length=64, description=PLATE_HELP)] = None) -> Response:
    # Every open review page polls this; the answer does not depend on who asks (service.list_cache).
    cache = request.app.state.list_cache
    key = (state, rule, camera, date_from, date_to, limit, offset, created_since, after, plate)
    if cache.enabled and (body := cache.get(key)) is not None:
        return Response(body, media_type="application/json")
    generation, started = cache.generation, time.monotonic()
    tz = local_time.zone(request.app.state.settings.timezone)
    page = _case_page(db, state, rule, camera, date_from, date_to, limit, offset, created_since, tz, after, plate)
    body = CasePage.model_validate(page).model_dump_json().encode()
    if cache.enabled:
        cache.put(key, generation, body, started)
    return Response(body, media_type="application/json")


# The review queue's order: oldest first, so cases arriving join the end of the list.
QUEUE_ORDER = (Case.created_at, Case.start_s, Case.id)
AFTER_HELP = ("the id of the last case of the previous page: the page starts after it in the list's order, "
              "so cases decided or added meanwhile neither shift a case past the reviewer nor show one twice "
              "(``offset`` counts from there)")
PLATE_HELP = ("cases whose plate in force (the newest reviewer correction, else the pipeline's read) contains "
              "this text, e.g. ``京A12345`` or only a part such as ``A123``. Both sides are compared "
              "normalised: upper case, full-width characters as ASCII, spaces, dots, middle dots (·) and "
              "hyphens dropped, the letters O and I read as the digits 0 and 1 (no plate serial has them). "
              f"At least {QUERY_MIN} and at most {QUERY_MAX} letters or digits after that, else 422; combines "
              "with the other filters, ``after`` and ``total``")


def _page_and_total(db: Session, counted: list[Any], listed: list[Any], limit: int,
                    offset: int) -> tuple[list[str], int]:
    """The page's ids (``listed``: in the queue's order, ``limit`` from ``offset``) and the total
    (``counted``), from one snapshot of the table.

    Read by two statements, the count and then the page, a case committed between them was listed
    but not counted (3 cases shown under "total 2"), or the other way round. One statement reads
    both: the count rides on each row of the page (an uncorrelated subquery, computed once). A page
    past the end has no row to carry it: its total is read with whether the page is still empty,
    again in one statement, and when cases have filled it meanwhile the page is read again."""
    total_of = select(func.count()).select_from(Case).where(*counted).scalar_subquery()
    page = select(Case.id, total_of.label("total")).where(*listed).order_by(*QUEUE_ORDER).limit(limit).offset(offset)
    filled = select(Case.id).where(*listed).limit(1).offset(offset).exists()
    total = 0
    for _ in range(3):  # a list growing faster than this reads it gets the last empty page's total
        rows = db.execute(page).all()
        if rows:
            return [r.id for r in rows], rows[0].total
        total, still_filled = db.execute(select(total_of, filled)).one()
        if not still_filled:
            break
    return [], total


def _listed(value: str) -> list[str]:
    """The parts of a comma-separated filter, trimmed (``a, b`` is typed as often as ``a,b``)."""
    return [part.strip() for part in value.split(",")]


def _case_page(db: Session, state: str | None, rule: str | None, camera: str | None, date_from: str | None,
               date_to: str | None, limit: int, offset: int, created_since: str | None, tz: ZoneInfo,
               after: str | None = None, plate: str | None = None) -> dict:
    conds = []
    if plate:  # the plate in force's key (service.plate_search), kept on the case
        try:
            key = query_key(plate)
        except PlateQueryError as err:
            raise ApiError(422, str(err), code="invalid_input") from None
        conds.append(Case.plate_key.like(f"%{key}%"))  # letters and digits only: no wildcard to escape
    if created_since:  # the review page's poll: cases added since the newest it has (inclusive)
        conds.append(Case.created_at >= parse_when(created_since, "created_since"))
    if state:
        states = _listed(state)
        bad = [s for s in states if s not in CASE_STATES]
        if bad:
            raise ApiError(422, f"state: unknown {bad}; one of {', '.join(CASE_STATES)}")
        conds.append(Case.state.in_(states))
    if rule:
        conds.append(Case.rule.in_(_listed(rule)))
    if camera:
        conds.append(Case.camera_id.in_(_listed(camera)))
    # A plain date is a whole local day in the installation's zone, as in the audit log: in UTC the
    # first eight hours of a Beijing day fell on the day before, so "1 May" missed the morning's cases.
    span = local_time.span(date_from, date_to, tz)
    if span.start is not None:
        conds.append(Case.start_time >= span.start)
    if span.end is not None:
        conds.append(Case.start_time <= span.end if span.end_inclusive else Case.start_time < span.end)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    counted = list(conds)  # the total: every case the filters match, wherever ``after`` starts the page
    if after is not None:  # the cases after that one in the list's order, wherever it is now
        mark = db.execute(select(*QUEUE_ORDER).where(Case.id == after)).first()
        if mark is None:
            raise ApiError(404, f"after: no case {after!r}")
        conds.append(tuple_(*QUEUE_ORDER) > tuple_(*(literal(v, c.type) for v, c in zip(mark, QUEUE_ORDER))))
    # The page's ids first, from the index in the list's order (models: ix_cases_queue_order), then
    # their rows: under OFFSET the summary's JSON was extracted from every row skipped as well.
    ids, total = _page_and_total(db, counted, conds, limit, offset)
    # the summary's columns only (service.api.case_rows): whole case records made this list slow
    found = {r.id: r for r in summary_rows(db, select(Case).where(Case.id.in_(ids)))} if ids else {}
    rows = [found[i] for i in ids if i in found]  # one deleted in between is left out
    documents = judged_documents(db, rows)  # the zone's names from the scene each case was judged by
    # and its time zone: the queue shows each case's time as its page does, not in the camera's zone of today
    items = [{**case_summary(c), "zone_names": zone_names(documents.get(c.id), c.zone),
              "timezone": timezone_of(documents.get(c.id), c.camera_id)} for c in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _published_urls(case: Case) -> dict[str, str] | None:
    if not case.published_hashes:
        return None
    urls = {"video": f"/api/public/cases/{case.id}/media/video", "image": f"/api/public/cases/{case.id}/media/image"}
    if PUBLISHED_SHEET in case.published_hashes:
        urls["sheet"] = f"/api/public/cases/{case.id}/media/sheet"
    return urls


@router.get("/{case_id}", response_model=CaseDetail, responses=responses(404), **AS_BUILT)
def get_case(case_id: str, request: Request, db: Session = Depends(get_db), _: Principal = Depends(reviewers)) -> dict:
    # A plain function: FastAPI runs it on its thread pool, so neither the database reads nor
    # the integrity check (files or bucket objects) ever block the event loop.
    case = _case(db, case_id)
    settings = request.app.state.settings
    # Shown on every view: cached while the files are unchanged; decisions re-read every byte.
    integrity = check_case(case, evidence_store(settings), settings.chunk_size, cached=True)
    cam = db.get(Camera, case.camera_id)
    job = db.get(Job, case.job_id)
    up = db.get(Upload, job.upload_id) if job else None
    # the scene this case was judged by, not the camera's current one (an edit since changes nothing here)
    version = of_case(db, case)
    scene = case_scene(version, cam)
    document = version.document if version is not None else (cam.scene_yaml if cam else None)
    history = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "case", AuditEntry.object_id == case.id,
                                                  AuditEntry.action.like("case.%")).order_by(AuditEntry.at))
    place = (up.place if up and up.place else None) or (cam.place if cam else None)
    return {
        **case_summary(case),
        "timezone": (scene or {}).get("timezone") or (cam.timezone if cam else None),
        "scene": scene, "scene_version": scene["version"] if scene else None,
        "place": place,
        # the zone's and place's names per page language (zone_names None: the scene labels it not)
        **case_names(document, case.zone, place),
        "zone_labels": scene_zone_names(document),  # every labelled zone (the overlay)
        "upload_id": up.id if up else None,
        "evidence": {k: f"/api/cases/{case.id}/evidence/{k}" for k in EVIDENCE_VIEW_KINDS if case.evidence.get(k)},
        "evidence_hashes": case.evidence_hashes,
        "integrity": integrity.as_dict(),
        "published": _published_urls(case), "published_hashes": case.published_hashes,
        "public_number": case.public_number, "public_screens": case.public_screens,
        "key_frame": case.data.get("key_frame"), "frame_size": case.data.get("frame_size"),
        "key_box": case.data.get("key_box"), "path": case.data.get("path"),
        "offender_track": case.data.get("offender_track"), "fps": case.data.get("fps"),
        "clock": case.data.get("clock"),  # where the wall-clock times came from (scene / upload / container)
        # who flew it (drone id, pilot) and what the file says of itself (creation time, GPS
        # location, device): evidence for reviewers; the public record never carries them
        "flight": case.data.get("flight"), "source_metadata": case.data.get("source_metadata"),
        "registration": (case.data.get("details") or {}).get("registration"),
        "undo_until": iso(undo_until(case, settings.undo_window_s)),
        # The player seeks to the case span inside the clip (a stream-copied clip starts at a keyframe).
        "clip_start_s": case.data.get("clip_start_s"), "clip_offset_s": case.data.get("clip_offset_s"),
        "annotated_render": f"/api/cases/{case.id}/annotated" if can_render(case) else None,
        # Whether POST /api/cases/{id}/plate accepts a correction: a plate was read, or the offender
        # is a vehicle (whose plate the OCR may have missed).
        "plate_correctable": case.plate is not None or (case.object_class or "") in VEHICLE_CLASSES,
        "history": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "details": e.details} for e in history],
    }


VERSION_HELP = ("the case's ``version`` as the reviewer's page showed it: if the case changed since (someone "
                "decided, undid, reopened it or corrected its plate), the decision is refused with 409 "
                "``case_changed`` instead of landing on a case its reviewer never saw. Optional: without it the "
                "decision applies to the case as the request finds it")
Version = Annotated[str | None, Field(default=None, max_length=64, description=VERSION_HELP)]


def check_version(case: Case, version: str | None) -> None:
    """409 ``case_changed`` when the page's ``version`` is not the case's now; the answer says what
    the case is now, so the page can show it."""
    if version is not None and version != case_version(case):
        raise ApiError(409, f"the case changed since you opened it (now {case.state}"
                            + (f", by {case.reviewer}" if case.reviewer else "") + "); reload it and decide again",
                       code="case_changed", state=case.state, reviewer=case.reviewer, version=case_version(case))


def unchanged_since_read(case: Case) -> Any:
    """The condition of every write that decides on ``case``: its row is still the one read.
    The state alone comes back (rejected, reopened, rejected again by someone else), and a
    decision conditioned on it landed on, or took back, a decision its request never read."""
    return (Case.id == case.id) & (Case.state == case.state) & (Case.updated_at == case.updated_at)


def _transition(db: Session, case: Case, action: str, who: Principal, reason: str | None,
                reason_code: str | None = None, **values: Any) -> str:
    """Move the case on (conditional UPDATE on the row as read, so two reviewers cannot both decide,
    nor one decide on a case changed under the request); returns the old state.
    ``reason_code``: a rejection's (service.reject_reasons); every other transition clears it."""
    allowed, target = TRANSITIONS[action]
    old = case.state
    if case.state not in allowed:
        raise ApiError(409, f"cannot {action} a case that is {case.state} (allowed from: {', '.join(allowed)})",
                       state=case.state, code="invalid_transition")
    now = utcnow()
    res = db.execute(update(Case).where(unchanged_since_read(case)).values(
        state=target, reason=reason, reject_reason_code=reason_code, reviewer=who.name, decided_at=now,
        updated_at=now, **values))
    if res.rowcount != 1:
        db.rollback()
        raise ApiError(409, "the case changed while you were deciding; reload it", code="invalid_transition")
    return old


def _integrity_or_409(case: Case, settings, action: str) -> None:  # noqa: ANN001
    report = check_case(case, evidence_store(settings), settings.chunk_size)
    if not report.ok:
        raise ApiError(409, f"cannot {action}: the evidence does not match its manifest", problems=report.problems,
                       integrity=report.as_dict(), code="integrity_failed")


class ReasonIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)  # required; checked for the code below
    version: Version = None


REASON_CODE_HELP = ("the reason's code (the review page's choices); ``reason`` is then the reviewer's note, "
                    "optional but for ``other``. Without it the code is read from ``reason``'s text by the "
                    "reasons' labels (a text matching none is ``other``)")


class RejectIn(ReasonIn):
    reason_code: RejectReason | None = Field(default=None, description=REASON_CODE_HELP)


def rejection_reason(reason: str | None, code: str | None) -> tuple[str | None, str]:
    """The note and the code a rejection stores: the code given, else the one the text maps to;
    422 ``reason_required`` with neither, or for ``other`` without words."""
    note = (reason or "").strip() or None
    if note is None and code in (None, UNLISTED):
        raise ApiError(422, "reason: required when rejecting" + (" as other" if code else ""),
                       code="reason_required")
    return note, code or reason_code(note)


class OptionalReasonIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)
    version: Version = None


FEED_ACTIONS = ("publish", "withdraw")  # what puts a case on the screens or takes it off


def _finish(db: Session, request: Request, who: Principal, case: Case, action: str, from_state: str,
            **details: Any) -> dict:
    audit.record(db, request, who, f"case.{action}", "case", case.id, from_state=from_state, **details)
    if action in FEED_ACTIONS:
        # Stamped again at the commit: the screens' feed sends with ``since`` what was decided after
        # it, and a stamp taken before a wait (a lock, a busy database) and committed long after a
        # poll fell behind that poll's ``since``. What remains (the commit itself) the feed's overlap
        # covers (``service.api.public.SINCE_OVERLAP_S``).
        db.execute(update(Case).where(Case.id == case.id).values(decided_at=utcnow()))
    db.commit()
    db.refresh(case)
    events.case_changed(request.app.state.settings, db, case, action, who.actor, from_state)  # MQTT / webhooks
    return case_summary(case) | {"published": _published_urls(case)}


@router.post("/{case_id}/approve", response_model=DecidedCase, responses=responses(404, 409), **AS_BUILT)
def approve(case_id: str, request: Request, body: OptionalReasonIn | None = None, db: Session = Depends(get_db),
            who: Principal = Depends(reviewers)) -> dict:
    settings = request.app.state.settings
    with deciding(case_id):  # one approval of a case at a time: see service.decision_locks
        case = _case(db, case_id)
        check_version(case, body.version if body else None)
        if case.state not in TRANSITIONS["approve"][0]:
            _transition(db, case, "approve", who, None)  # raises the 409
        _integrity_or_409(case, settings, "approve")
        publisher = getattr(request.app.state.runner, "publisher", None)
        published_dir, hashes = approval_media(case, settings, publisher)
        reason = body.reason if body else None
        media = {"published_dir": published_dir, "published_hashes": hashes} if hashes is not None else {}
        old = _transition(db, case, "approve", who, reason, **media)
        if hashes is None and case.published_dir is not None:
            # The media read above were stale or failed their check: cleared (SQL NULL, not JSON null:
            # the queue fills in rows whose hashes IS NULL), but only while they are still the ones
            # read. The queue prepares cases in the review queue's order and often records the very
            # case being approved meanwhile; writing "none" over its fresh media had them made again.
            db.execute(update(Case).where(Case.id == case.id, Case.published_dir == case.published_dir)
                       .values(published_dir=None, published_hashes=null()))
        result = _finish(db, request, who, case, "approve", old, published_hashes=hashes, policy=settings.redaction_policy)
        if hashes is None:  # made on the publication queue, before the cases prepared in advance
            publisher.enqueue([case.id], urgent=True)
        return result


def _decide_with_reason(db: Session, request: Request, who: Principal, case_id: str, action: str, doing: str,
                        body: "ReasonIn | None") -> dict:
    """Reject and withdraw: a transition that must say why (no body at all is no reason either)."""
    if action == "reject":
        reason, code = rejection_reason(body.reason if body else None, getattr(body, "reason_code", None))
    else:
        reason, code = ((body.reason if body else None) or "").strip(), None
        if not reason:
            raise ApiError(422, f"reason: required when {doing}", code="reason_required")
    case = _case(db, case_id)
    check_version(case, body.version if body else None)
    old = _transition(db, case, action, who, reason, code)
    return _finish(db, request, who, case, action, old, reason=reason, **({"reason_code": code} if code else {}))


@router.post("/{case_id}/reject", response_model=DecidedCase, responses=responses(404, 409), **AS_BUILT)
def reject(case_id: str, request: Request, body: RejectIn | None = None, db: Session = Depends(get_db),
           who: Principal = Depends(reviewers)) -> dict:
    """Pending → rejected, with the reason's code and the reviewer's words (``RejectIn``)."""
    result = _decide_with_reason(db, request, who, case_id, "reject", "rejecting", body)
    publisher = getattr(request.app.state.runner, "publisher", None)
    if publisher is not None:  # its public media are not needed: the queue's two cores go to the next case
        publisher.give_up(case_id)
    return result


class PublishIn(ApiModel):
    """``screens``: show the case on these screens only (default: every screen). ``media_sha256``:
    the published files' hashes the reviewer previewed; if the media changed since, 409."""

    screens: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(default=None, max_length=100)
    media_sha256: dict[str, str] | None = None
    version: Version = None


@router.post("/{case_id}/publish", response_model=DecidedCase, responses=responses(404, 409), **AS_BUILT)
def publish(case_id: str, request: Request, body: PublishIn | None = None, db: Session = Depends(get_db),
            who: Principal = Depends(reviewers)) -> dict:
    settings = request.app.state.settings
    case = _case(db, case_id)
    check_version(case, body.version if body else None)
    read = case_version(case)  # the checks below may commit (media queued) and read the case again
    if case.state not in TRANSITIONS["publish"][0]:
        _transition(db, case, "publish", who, None)
    _integrity_or_409(case, settings, "publish")
    publisher = getattr(request.app.state.runner, "publisher", None)
    if queue_missing(db, case, settings, publisher):  # queued again if they were lost or failed
        raise ApiError(409, "the public media of this case are still being made; try again shortly", code="not_ready")
    if replace_stale(db, case, settings, publisher):
        raise ApiError(409, "the public media were made under another redaction policy or from evidence since "
                            "replaced; they are being made again: preview them before publishing", code="not_ready")
    pub = check_published(case, evidence_store(settings), settings.chunk_size)
    if not pub.ok:
        raise ApiError(409, "cannot publish: the published media does not match its recorded hashes",
                       problems=pub.problems, code="integrity_failed")
    if body and body.media_sha256 is not None and body.media_sha256 != case.published_hashes:
        raise ApiError(409, "the published media changed since the preview; preview again", code="conflict")
    screens = sorted(set(body.screens)) if body and body.screens is not None else None
    if screens == []:
        # A case "published" to no screen was numbered and public (a display token not bound to a
        # screen could fetch it by number) but shown nowhere: the reviewer unticked every screen.
        raise ApiError(422, "pick at least one screen, or leave 'screens' out for every screen", code="no_screens")
    olds: list[str] = []

    def published_as(number: str) -> None:
        # The number goes in with the state change, committed by _finish or not at all: given and
        # committed first, a withdrawal, undo or changed version that won the race at this step
        # left the case a number it was never shown under (service.case_number).
        check_version(case, read)  # changed meanwhile: not published on top of what was not checked
        olds.append(_transition(db, case, "publish", who, case.reason, public_screens=screens, public_number=number))

    number = publish_numbered(db, case, published_as)
    return _finish(db, request, who, case, "publish", olds[-1], public_number=number, screens=screens)


@router.post("/{case_id}/withdraw", response_model=DecidedCase, responses=responses(404, 409), **AS_BUILT)
def withdraw(case_id: str, request: Request, body: ReasonIn | None = None, db: Session = Depends(get_db),
             who: Principal = Depends(reviewers)) -> dict:
    return _decide_with_reason(db, request, who, case_id, "withdraw", "withdrawing", body)


EVIDENCE_FILE = binary("the evidence file as the pipeline wrote it (with ``w``: a JPEG thumbnail)", "video/mp4",
                       "image/jpeg")
EVIDENCE_FILE[200]["content"]["application/json"] = {"schema": {"type": "object", "description": "tracks.json"}}


@router.get("/{case_id}/evidence/{kind}", response_class=FileResponse,
            responses={**EVIDENCE_FILE, **responses(404, 409, 416)})
def evidence(case_id: str, kind: str, request: Request, db: Session = Depends(get_db),
             who: Principal = Depends(reviewers), w: int | None = None):
    """The original file; with ``w`` (a still only) a cached thumbnail that wide, for the queue."""
    if kind not in EVIDENCE_VIEW_KINDS:
        raise ApiError(404, f"evidence kind must be one of {', '.join(EVIDENCE_VIEW_KINDS)}")
    if w is not None and (kind not in STILL_KINDS or w not in THUMB_WIDTHS):
        raise ApiError(422, f"w: thumbnails are of {', '.join(STILL_KINDS)} at {THUMB_WIDTHS} px", code="invalid_input")
    case = _case(db, case_id)
    rel = case.evidence.get(kind)
    settings = request.app.state.settings
    store = evidence_store(settings)  # the data folder or the bucket (service.blobstore)
    if rel is None and kind == ANNOTATED_KIND and can_render(case):
        raise ApiError(404, f"the annotated clip of case {case_id!r} has not been rendered yet; "
                            f"POST /api/cases/{case_id}/annotated renders it", code="not_rendered")
    try:
        key = join(case.out_dir, rel) if rel else None
    except BadKey:
        key = None
    if key is None or store.info(key) is None:  # locally: a regular file, no symlink, inside the data folder
        raise ApiError(404, f"case {case_id!r} has no {kind} file")
    if not audit.seen_recently(db, who, "evidence.view", "case", case.id, settings.audit_view_window_s, kind=kind,
                               thumb=w):
        audit.record(db, request, who, "evidence.view", "case", case.id, kind=kind,
                     range=request.headers.get("range"), **({"thumb": w} if w else {}))
        db.commit()
    if w is not None:  # not evidence, just a picture to find the case by: the browser may keep it
        try:
            thumb = blob_thumbnail(store, key, w, settings.data_dir)
        except FileNotFoundError:
            raise ApiError(404, f"case {case_id!r} has no {kind} file") from None
        return FileResponse(thumb, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})
    # Sent only as the bytes the hash recorded at ingest vouches for, hashed over what is sent
    # (ranges included: the player seeks with them), from the folder or the bucket alike.
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return VerifiedBlobResponse(store, key, case.evidence_hashes.get(rel) or "", media_type,
                                headers={"Cache-Control": "private, no-store"}, chunk_size=settings.chunk_size,
                                problem_detail="this evidence file fails its integrity check")


def _annotation_error(err: AnnotationError) -> ApiError:
    status = 404 if err.code == "annotation_unavailable" else 409
    return ApiError(status, str(err), code=err.code)


@router.post("/{case_id}/annotated", response_model=AnnotatedClipOut, responses=responses(404, 409))
def render_annotated_clip(case_id: str, request: Request, db: Session = Depends(get_db),
                          who: Principal = Depends(reviewers)) -> dict:
    """Render the burnt-in annotated clip (once; later calls return the same file) and record its hash."""
    settings = request.app.state.settings
    case = _case(db, case_id)
    try:
        made = ensure_annotated(case, settings)
    except AnnotationError as err:
        raise _annotation_error(err) from None
    audit.record(db, request, who, "evidence.render", "case", case.id, kind=ANNOTATED_KIND, path=made.relpath,
                 sha256=made.sha256, rendered=made.rendered, frames=made.frames, sources=made.sources)
    db.commit()
    return {"url": f"/api/cases/{case.id}/evidence/{ANNOTATED_KIND}", "sha256": made.sha256,
            "rendered": made.rendered, "frames": made.frames}


def _annotate_for_export(db: Session, request: Request, who: Principal, cases: list[Case], settings) -> dict:  # noqa: ANN001
    """Make the annotated clip of every exported case that can have one; {case id: problem} for the rest."""
    problems: dict[str, str] = {}
    for case in cases:
        if not can_render(case):
            continue
        try:
            made = ensure_annotated(case, settings)
        except AnnotationError as err:
            problems[case.id] = str(err)
            continue
        if made.recorded:
            audit.record(db, request, who, "evidence.render", "case", case.id, kind=ANNOTATED_KIND,
                         path=made.relpath, sha256=made.sha256, rendered=made.rendered, frames=made.frames,
                         sources=made.sources, reason="export")
    return problems


class ExportIn(ApiModel):
    ids: list[str] = Field(min_length=1, max_length=500)


@router.post("/export", response_class=StreamingResponse, responses={
    **binary("a ZIP of the cases' evidence, records and a signed manifest (``civicwatch verify``)", "application/zip"),
    **responses(404)})
def export(body: ExportIn, request: Request, db: Session = Depends(get_db), who: Principal = Depends(reviewers)):
    settings = request.app.state.settings
    ids = list(dict.fromkeys(body.ids))
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(ids)))}
    missing = [i for i in ids if i not in cases]
    if missing:
        raise ApiError(404, f"no such cases: {', '.join(missing)}", missing=missing)
    not_annotated = _annotate_for_export(db, request, who, [cases[i] for i in ids], settings)
    for object_id in audit.joined_ids(ids):  # one entry per part that fits the column, never a cut id
        audit.record(db, request, who, "case.export", "case", object_id, ids=ids,
                     **({"annotation_problems": not_annotated} if not_annotated else {}))
    db.commit()
    exported_at = utcnow()
    records = [(cases[i], _export_record(cases[i], settings)) for i in ids]
    entries_by_case = entries_of_cases(db, ids)
    histories = {i: _export_history(cases[i], entries_by_case[i]) for i in ids}

    signed = ExportManifest()

    def listed(name: str, content, entry: dict | None = None):  # noqa: ANN001, ANN202
        entry = entry or {}
        signed.add(name, content, entry.get("recorded_sha256") or entry.get("sha256"), entry.get("size"))
        return name, content

    def entries():
        yield listed("export.json", json.dumps({"exported_at": iso(exported_at), "exported_by": who.actor,
                                                "cases": ids}, indent=2).encode())
        for case, (files, manifest) in records:
            yield listed(f"{case.id}/manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
            yield listed(f"{case.id}/record.json", json.dumps(manifest["record"], indent=2, ensure_ascii=False).encode())
            yield listed(f"{case.id}/history.json", json.dumps(histories[case.id], indent=2, ensure_ascii=False).encode())
            for arcname, blob in files:
                yield listed(f"{case.id}/{arcname}", blob, manifest["files"].get(arcname))
        # Last, once every member is known: the signed list that ``civicwatch verify`` checks offline.
        yield from signed.render(request.app.state.signing_key, __version__, {"cases": ids})

    headers = {"Content-Disposition": f'attachment; filename="civicwatch-cases-{exported_at:%Y%m%dT%H%M%SZ}.zip"'}
    return StreamingResponse(zip_stream(entries(), settings.chunk_size), media_type="application/zip", headers=headers)


def _export_history(case: Case, entries: list[AuditEntry]) -> dict:
    """Every audit entry on the case, oldest first: who decided, corrected the plate, rendered or
    viewed what, and when. ``record.json`` holds only the state and plate now in force, so without
    this a rejection later reopened and approved, or a plate corrected twice, left no trace in the
    zip a court or a citizen's lawyer is handed."""
    return {"case": case.id,
            "note": "added by the review service after the analysis (not part of the pipeline's signed run); "
                    "each entry says who did what and when / 分析之后由审核系统记录：谁在何时做了什么",
            "entries": [{"at": iso(e.at), "actor": e.actor, "role": e.actor_role, "action": e.action,
                         "details": e.details} for e in entries]}


def _export_record(case: Case, settings) -> tuple[list[tuple[str, BlobRef]], dict]:  # noqa: ANN001
    """Files of the case folder (and published media) plus the manifest entries that vouch for them."""
    store = evidence_store(settings)  # the data folder or the bucket (service.blobstore)
    try:
        raw = read_bytes(store, join(case.out_dir, "manifest.json"))
        run_manifest = json.loads(raw.decode("utf-8")) if raw is not None else {}
    except (OSError, ValueError, BadKey):
        run_manifest = {}
    run_files = manifest_files(run_manifest)
    files: list[tuple[str, BlobRef]] = []
    entries: dict[str, Any] = {}
    not_exported: list[dict[str, str]] = []
    run_prefix, case_prefix = case.out_dir.strip("/") + "/", case.evidence_dir.strip("/") + "/"
    try:
        found = sorted(store.list(case.evidence_dir), key=lambda b: b.key)
    except BadKey:
        found = []
    for blob in found:  # locally: regular, unlinked files inside the data folder only
        if not blob.key.startswith(case_prefix) or not blob.key.startswith(run_prefix):
            continue
        arc = blob.key[len(case_prefix):]
        relpath = blob.key[len(run_prefix):]
        recorded = case.evidence_hashes.get(relpath)
        if not recorded:
            # Nothing recorded at ingest vouches for it (put in the folder since, or a file the run's
            # manifest forgot): signing a fresh hash of it would present it as evidence. Named, not sent.
            not_exported.append({"run_path": relpath, "why": "no hash was recorded for it when the run was ingested"})
            continue
        files.append((arc, BlobRef(store, blob.key, blob.size)))
        entries[arc] = {"run_path": relpath, **(run_files.get(relpath) or {}), "recorded_sha256": recorded}
        if relpath not in run_files and relpath in on_demand_paths(case):
            # Rendered after the analysis: only the database record vouches for it.
            entries[arc].update(sha256=recorded, made_after_analysis=True)
    if case.published_dir and case.published_hashes:
        for name, sha in sorted(case.published_hashes.items()):
            try:
                blob = store.info(join(case.published_dir, name))
            except BadKey:
                blob = None
            if blob is not None:
                files.append((f"published/{name}", BlobRef(store, blob.key, blob.size)))
                entries[f"published/{name}"] = {"sha256": sha}
    record = {**case_summary(case), "evidence": case.evidence, "data": case.data}
    source = {k: v for k, v in run_manifest.items() if k != "files"} if isinstance(run_manifest, dict) else {}
    return files, {"case": case.id, "files": entries, "run_manifest": source, "record": record,
                   **({"not_exported": not_exported} if not_exported else {})}
