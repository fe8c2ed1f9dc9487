"""Footage uploads: one streamed multipart request, or a resumable session of raw chunks.

Both paths end in ``_accept``: content check (PyAV must find and decode a video stream),
duplicate check by SHA-256, move into ``uploads/``, and an Upload row plus a queued Job. Nothing
that was already stored is touched by a failed upload; a rejected file is removed, except a
session whose hash does not match, whose part file stays so the client can resend the tail. A
session keeps how its completion ended (the upload it made, or the refusal of its file) until it
expires, so a completion whose answer was lost is answered again the same way.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from service import audit, scenes
from service.api.common import ApiModel, Offset, RowId, camera_id_given, parse_when, refuse_retired, reject_nul, upload_json
from service.api.schemas import (
    BINARY, ChunkStored, Ok, SessionCreated, SessionStatus, UploadAccepted, UploadOut, multipart,
)
from service.errors import ApiError, responses
from service.models import Camera, Job, Upload, UploadSession, utcnow
from service.multipart_stream import stream_form
from service.security import Principal, get_db, require_roles
from detector.hashing import sha256_file
from service.storage import NotAVideo, probe_video, safe_filename, stored_duration_s, stored_suffix

router = APIRouter(prefix="/api/uploads", tags=["uploads"], responses=responses(401, 403))
uploaders = require_roles("operator", "admin")
viewers = require_roles("operator", "admin", "reviewer")

SHA_RE = re.compile(r"^[0-9a-f]{64}$")

# The single-request upload's form (``stream_form`` reads it straight to disk), for the OpenAPI document.
_TEXT = {"type": "string", "maxLength": 128}
UPLOAD_FORM = multipart({
    "file": {"type": "string", "format": "binary", "description": "the video (e.g. MP4 from the drone)"},
    "camera": {"type": "string", "description": "the camera id of a registered scene"},
    "started_at": {"type": "string", "description": "when the recording started, ISO 8601 with a UTC offset; "
                                                    "overrides the scene's start_time for this upload's cases"},
    "drone_id": _TEXT, "pilot": _TEXT, "place": {"type": "string", "maxLength": 255},
}, ["file", "camera"])
# A chunk of a resumable session: raw bytes at the offset the server holds.
CHUNK_BODY = {
    "requestBody": {"required": True, "content": {"application/offset+octet-stream": BINARY}},
    "parameters": [{"name": "Upload-Offset", "in": "header", "required": True,
                    "description": "where the chunk starts: the session's current offset",
                    "schema": {"type": "integer", "minimum": 0}}],
}
# A chunk that sends nothing for this long ends as a dropped one (what arrived is kept). A link
# that drops without closing the connection (no FIN, no RST) is never reported to the server: the
# request waited for the rest of its body for good, holding the session's lock, and every resend,
# the completion and abandoning the session were 409 until the service restarted.
CHUNK_IDLE_S = 60.0
_session_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(session_id: str) -> threading.Lock:
    with _locks_guard:
        return _session_locks.setdefault(session_id, threading.Lock())


def _owns(who: Principal, owner_user_id: int | None, owner_token_id: int | None) -> bool:
    if who.role in ("admin", "reviewer"):
        return True
    if who.kind == "user":
        return owner_user_id is not None and owner_user_id == who.user_id
    return owner_token_id is not None and owner_token_id == who.token_id


def _camera(db: Session, camera_id: str | None) -> Camera:
    camera_id = camera_id_given(camera_id)
    cam = db.get(Camera, camera_id)
    if cam is None:
        raise ApiError(422, f"camera: no camera {camera_id!r} is registered", code="unknown_camera")
    refuse_retired(cam)
    return cam


def _existing(db: Session, sha: str) -> Upload | None:
    return db.scalar(select(Upload).where(Upload.sha256 == sha))


def _sees(existing: Upload, who: Principal) -> bool:
    """Whether ``who`` may learn which upload holds this file: its owner, or an administrator."""
    if who.role == "admin":
        return True
    return ((who.user_id is not None and existing.owner_user_id == who.user_id)
            or (who.token_id is not None and existing.owner_token_id == who.token_id))


def _duplicate_error(existing: Upload, who: Principal) -> ApiError:
    """409 for a file already stored. Another operator's upload is not named (id, file name):
    operators do not learn about each other's footage."""
    if _sees(existing, who):
        # its job too: the page sends the operator there (the upload's id alone leads nowhere)
        db = object_session(existing)
        job_id = db.scalar(select(Job.id).where(Job.upload_id == existing.id)) if db is not None else None
        return ApiError(409, f"this file was already uploaded as upload {existing.id} ({existing.filename})",
                        upload_id=existing.id, job_id=job_id, filename=existing.filename, code="duplicate_upload")
    return ApiError(409, "this file has already been uploaded by someone else; an administrator can find its job",
                    code="duplicate_upload")


def _text(value: str | None, field: str, limit: int = 128) -> str | None:
    """A free-text field, trimmed; blank is not given (None). The limit counts what is kept."""
    reject_nul(value, field)
    value = value.strip() if value is not None else None
    if not value:
        return None
    if len(value) > limit:
        raise ApiError(422, f"{field}: longer than {limit} characters")
    return value


def _details(db: Session, *, camera: str | None, filename: str, started_at: str | None, drone_id: str | None,
             pilot: str | None, place: str | None) -> dict:
    """What an upload is given besides its bytes, checked and normalised in one place for both
    paths (the single request's form fields, a session's JSON when it is opened). A session's
    fields went into its row as sent: a blank or space-padded pilot, drone id or place was stored
    and shown so (a place of spaces hid the camera's own place on the upload), where the
    single-request upload trimmed them and took a blank one for not given.

    ``started_at`` is kept in UTC, the instant sent unchanged: the database stores UTC and the API
    answers every time so (``+00:00``), but the single request's 201 was made from this value before
    any reload and echoed the offset it was sent with (``+08:00``), where the session's completion
    (its value read back from its row) gave UTC: one upload, two strings."""
    cam = _camera(db, camera)
    when = parse_when(started_at.strip() if started_at else None, "started_at")
    return {"camera": cam, "filename": safe_filename(filename),
            "started_at": when.astimezone(timezone.utc) if when is not None else None,
            "drone_id": _text(drone_id, "drone_id"), "pilot": _text(pilot, "pilot"),
            "place": _text(place, "place", 255)}


def _accept(request: Request, db: Session, who: Principal, tmp: Path, filename: str, sha: str, size: int,
            camera: Camera, started_at: datetime | None, drone_id: str | None, pilot: str | None,
            place: str | None, session: UploadSession | None = None) -> tuple[Upload, Job]:
    """Checks done; move the file in place and queue its job. Raises ApiError (file removed).
    ``session``: the resumable session completing, marked complete with the upload it made."""
    settings = request.app.state.settings
    try:
        info = probe_video(tmp)
    except NotAVideo as err:
        tmp.unlink(missing_ok=True)
        raise ApiError(415, f"{filename}: {err}; upload a video file (e.g. MP4 from the drone)",
                       code="not_video") from None
    existing = _existing(db, sha)
    if existing is not None:
        tmp.unlink(missing_ok=True)
        raise _duplicate_error(existing, who)
    duration_s = stored_duration_s(tmp, info)
    name = safe_filename(filename)
    final = settings.uploads_dir / sha[:2] / f"{sha}{stored_suffix(name)}"
    final.parent.mkdir(parents=True, exist_ok=True)
    stored_before = final.exists()  # the same bytes, stored by a request that finished a moment ago
    os.replace(tmp, final)
    try:
        up, job = _record(request, db, who, final, name, sha, size, duration_s, camera, started_at, drone_id,
                          pilot, place, session)
    except ApiError:
        raise
    except Exception:
        # a fault (the database unreachable, its disk full): the file goes back where it came from,
        # so a session keeps what it received and uploads/ keeps no file that no upload names
        if not stored_before and final.exists():
            os.replace(final, tmp)
        raise
    request.app.state.runner.submit(job.id)
    return up, job


def _record(request: Request, db: Session, who: Principal, final: Path, name: str, sha: str, size: int,
            duration_s: float | None, camera: Camera, started_at: datetime | None, drone_id: str | None,
            pilot: str | None, place: str | None, session: UploadSession | None = None) -> tuple[Upload, Job]:
    """The Upload row and its queued job for the file now at ``final``, committed (with ``session``
    marked complete in the same transaction)."""
    settings = request.app.state.settings
    up = Upload(path=str(final.relative_to(settings.data_dir)), filename=name, sha256=sha, size=size,
                duration_s=duration_s, camera_id=camera.id, owner_user_id=who.user_id,
                owner_token_id=who.token_id, started_at=started_at, drone_id=drone_id, pilot=pilot,
                place=place or camera.place)
    db.add(up)
    try:
        db.flush()
    except IntegrityError:  # the same file finished a moment ago through another request
        db.rollback()
        existing = _existing(db, sha)
        if existing is None or existing.path != up.path:
            final.unlink(missing_ok=True)
        raise _duplicate_error(existing, who) if existing else ApiError(409, "duplicate upload") from None
    job = Job(upload_id=up.id, state="queued", scene_version_id=scenes.current_id(db, camera))
    db.add(job)
    db.flush()
    audit.record(db, request, who, "upload.create", "upload", up.id, filename=name, sha256=sha, size=size,
                 camera=camera.id, job_id=job.id)
    if session is not None:
        session.upload_id, session.offset, session.updated_at = up.id, size, utcnow()
    db.commit()
    return up, job


@router.post("", status_code=201, response_model=UploadAccepted, responses=responses(400, 409, 413, 415),
             openapi_extra=UPLOAD_FORM)
async def upload(request: Request, db: Session = Depends(get_db), who: Principal = Depends(uploaders)) -> dict:
    settings = request.app.state.settings
    form = await stream_form(request, settings.partial_dir, settings.max_upload_bytes)
    try:
        f = form.files.get("file")
        if f is None:
            raise ApiError(422, "file: required (the video as a multipart file field named 'file')")
        if f.size == 0:
            raise ApiError(422, "file: empty")
        meta = _details(db, camera=form.fields.get("camera"), filename=f.filename,
                        **{k: form.fields.get(k) for k in ("started_at", "drone_id", "pilot", "place")})
        for other in form.files.values():
            if other is not f:
                other.path.unlink(missing_ok=True)
        up, job = await run_in_threadpool(_accept, request, db, who, f.path, meta.pop("filename"), f.sha256, f.size,
                                          meta.pop("camera"), **meta)
    finally:
        form.cleanup()  # no-op for the accepted file, which was moved away
    return {"upload_id": up.id, "job_id": job.id, **upload_json(up, job)}


class SessionIn(ApiModel):
    """The text fields are checked and normalised by ``_details``, as the single request's form
    fields are (trimmed, blank for not given, a long file name cut, not refused); the lengths
    below are what the document tells, not a second check."""

    camera: str = Field(description="the camera id of a registered scene")
    filename: str = Field(description="the file's name; cut to 120 characters keeping its extension")
    size: int = Field(gt=0)
    sha256: str = Field(min_length=64, max_length=64)
    started_at: str | None = None
    drone_id: str | None = Field(default=None, json_schema_extra={"maxLength": 128})
    pilot: str | None = Field(default=None, json_schema_extra={"maxLength": 128})
    place: str | None = Field(default=None, json_schema_extra={"maxLength": 255})


def _part_path_for(settings, session_id: str) -> Path:  # noqa: ANN001
    return settings.partial_dir / f"session-{session_id}.part"


def _part_path(request: Request, session_id: str) -> Path:
    return _part_path_for(request.app.state.settings, session_id)


def _get_session(db: Session, session_id: str, who: Principal, *, fresh: bool = False) -> UploadSession:
    s = db.get(UploadSession, session_id, populate_existing=fresh)
    if s is None or not _owns(who, s.owner_user_id, s.owner_token_id):
        raise ApiError(404, f"no upload session {session_id!r}")
    return s


def _made(db: Session, s: UploadSession) -> tuple[Upload, Job | None] | None:
    """The upload (and its job) a completed session made; None while it is open. A completed
    session keeps its row until the janitor expires it (``upload_session_ttl_s`` after the
    completion), so a completion whose answer was lost can be asked again."""
    if s.upload_id is None:
        return None
    up = db.get(Upload, s.upload_id)
    if up is None:  # its upload is gone: nothing to name
        raise ApiError(404, f"no upload session {s.id!r}")
    return up, db.scalar(select(Job).where(Job.upload_id == up.id))


def _refused(db: Session, s: UploadSession, who: Principal) -> ApiError | None:
    """The refusal that ended this session's completion (not a video, a duplicate), to answer a
    repeated completion, a chunk or a status request with; None when none did. It is kept, as a
    completion's upload is, because a refusal's answer may be lost too (a proxy's 504 while a large
    file was hashed): the session was deleted, and the page's retry got 404 and said the session
    was lost. A duplicate is told again as ``_duplicate_error`` tells it to ``who``: an admin who
    completed an operator's session was told the other upload's name, which that operator may
    not learn from the kept answer (uploads are not deleted, so the one it names is still there)."""
    if s.refusal is None:
        return None
    body = dict(s.refusal)
    if body.get("code") == "duplicate_upload":
        existing = _existing(db, s.expected_sha256)  # the file's hash: checked before it was refused
        if existing is not None:
            return _duplicate_error(existing, who)
        body = {k: body[k] for k in ("status", "detail", "code") if k in body}
    status, detail = body.pop("status"), body.pop("detail")
    return ApiError(status, detail, **body)


def _ended(db: Session, s: UploadSession, who: Principal) -> None:
    """Raises the kept refusal of a refused session (see ``_refused``)."""
    refusal = _refused(db, s, who)
    if refusal is not None:
        raise refusal


def _received(part: Path) -> int:
    """Bytes of the session on disk: the offset its next chunk starts at. The part file's size,
    as the status and the offset check read it; while a completion holds the session its file is
    renamed ``.accepting``, and still holds those bytes. The row's ``offset`` is written when a
    chunk ends and lags behind a chunk still arriving, whose bytes are kept even if it drops."""
    for path in (part, part.with_suffix(".accepting")):
        try:
            return path.stat().st_size
        except FileNotFoundError:
            continue
    return 0


def _accepted_json(up: Upload, job: Job | None) -> dict:
    return {"upload_id": up.id, "job_id": job.id if job is not None else None, **upload_json(up, job)}


@router.post("/sessions", status_code=201, response_model=SessionCreated, responses=responses(409, 413))
def create_session(body: SessionIn, request: Request, db: Session = Depends(get_db),
                   who: Principal = Depends(uploaders)) -> dict:
    settings = request.app.state.settings
    sha = body.sha256.lower()
    if not SHA_RE.match(sha):
        raise ApiError(422, "sha256: 64 hexadecimal characters expected")
    if body.size > settings.max_upload_bytes:
        # ``limit_bytes``: the upload page names the limit in its message (it checks before hashing too)
        raise ApiError(413, f"size {body.size} exceeds the upload limit of {settings.max_upload_bytes} bytes",
                       limit_bytes=settings.max_upload_bytes)
    meta = _details(db, camera=body.camera, filename=body.filename, started_at=body.started_at,
                    drone_id=body.drone_id, pilot=body.pilot, place=body.place)
    camera = meta.pop("camera")
    existing = _existing(db, sha)
    # Only the file's own uploader (or an admin) is told at once; anyone else learns it is a
    # duplicate when the upload completes, i.e. after proving they hold the bytes, so a SHA-256
    # alone never answers "has this footage been uploaded?".
    if existing is not None and _sees(existing, who):
        raise _duplicate_error(existing, who)
    s = UploadSession(id=secrets.token_hex(16), camera_id=camera.id, expected_size=body.size, expected_sha256=sha,
                      offset=0, owner_user_id=who.user_id, owner_token_id=who.token_id, **meta)
    settings.partial_dir.mkdir(parents=True, exist_ok=True)
    _part_path(request, s.id).touch()
    db.add(s)
    db.commit()
    return {"session_id": s.id, "offset": 0, "size": s.expected_size}


@router.get("/sessions/{session_id}", response_model=SessionStatus, responses=responses(404, 409, 415))
def session_status(session_id: str, request: Request, db: Session = Depends(get_db),
                   who: Principal = Depends(uploaders)) -> dict:
    """A refused session answers with its refusal (409 duplicate, 415 not a video), as a repeated
    completion does: the page asks here first when it retries a completion whose answer was lost."""
    s = _get_session(db, session_id, who)
    _ended(db, s, who)
    out = {"session_id": s.id, "size": s.expected_size, "filename": s.filename}
    made = _made(db, s)
    if made is not None:
        up, job = made
        return {**out, "offset": s.expected_size, "state": "complete", "upload_id": up.id,
                "job_id": job.id if job is not None else None}
    part = _part_path(request, s.id)
    offset = part.stat().st_size if part.exists() else 0
    return {**out, "offset": offset, "state": "open", "upload_id": None, "job_id": None}


@router.patch("/sessions/{session_id}", response_model=ChunkStored, responses=responses(400, 404, 409, 413, 415),
              openapi_extra=CHUNK_BODY)
async def session_chunk(session_id: str, request: Request, db: Session = Depends(get_db),
                        who: Principal = Depends(uploaders)) -> dict:
    s = _get_session(db, session_id, who)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/offset+octet-stream", "application/octet-stream"):
        raise ApiError(415, "send the chunk as Content-Type: application/offset+octet-stream")
    raw_offset = request.headers.get("upload-offset", "")
    if not (raw_offset.isascii() and raw_offset.isdigit()):  # str.isdigit() also accepts "²"
        raise ApiError(400, "Upload-Offset header: a non-negative integer is required")
    offset = int(raw_offset)
    part = _part_path(request, s.id)
    lock = _lock(s.id)
    if not lock.acquire(blocking=False):
        # the page waits and resends (a dropped connection's chunk may be read for CHUNK_IDLE_S yet)
        raise ApiError(409, "another chunk for this session is being written", offset=_received(part),
                       code="chunk_in_progress")
    try:
        s = _get_session(db, session_id, who, fresh=True)  # a completion may have ended while this waited
        _ended(db, s, who)  # else the chunk would start a new part file for a session already refused
        made = _made(db, s)
        if made is not None:
            raise ApiError(409, f"this upload session is complete: it made upload {made[0].id}", offset=s.expected_size,
                           upload_id=made[0].id, job_id=made[1].id if made[1] is not None else None,
                           code="session_complete")
        current = part.stat().st_size if part.exists() else 0
        if offset != current:
            raise ApiError(409, f"Upload-Offset {offset} does not match the stored offset {current}", offset=current,
                           code="offset_mismatch")
        written = 0
        disconnected = False
        too_big = False
        with open(part, "ab") as fh:
            chunks = request.stream().__aiter__()
            try:
                while True:
                    try:
                        chunk = await asyncio.wait_for(chunks.__anext__(), CHUNK_IDLE_S)
                    except StopAsyncIteration:
                        break
                    if current + written + len(chunk) > s.expected_size:
                        too_big = True
                        break
                    fh.write(chunk)
                    written += len(chunk)
            except (ClientDisconnect, TimeoutError):
                disconnected = True  # keep what arrived; the client resumes from the new offset
            if too_big:
                fh.truncate(current)
                written = 0
            fh.flush()
            os.fsync(fh.fileno())
        s.offset, s.updated_at = current + written, utcnow()
        db.commit()
        if too_big:
            raise ApiError(413, f"chunk runs past the declared size {s.expected_size}", offset=current)
        return {"offset": s.offset, "size": s.expected_size, "disconnected": disconnected}
    finally:
        lock.release()


@router.post("/sessions/{session_id}/complete", status_code=201, response_model=UploadAccepted,
             responses=responses(404, 409, 415))
def complete_session(session_id: str, request: Request, db: Session = Depends(get_db),
                     who: Principal = Depends(uploaders)) -> dict:
    s = _get_session(db, session_id, who)
    _ended(db, s, who)  # refused before (its answer lost): the same refusal
    made = _made(db, s)
    if made is not None:  # completed before (its answer lost): the same answer, nothing stored again
        return _accepted_json(*made)
    part = _part_path(request, s.id)
    lock = _lock(s.id)
    if not lock.acquire(blocking=False):
        raise ApiError(409, "a chunk for this session is still being written", offset=_received(part),
                       code="chunk_in_progress")
    try:
        s = _get_session(db, session_id, who, fresh=True)  # a completion may have ended while this waited
        _ended(db, s, who)
        made = _made(db, s)
        if made is not None:
            return _accepted_json(*made)
        size = part.stat().st_size if part.exists() else 0
        if size != s.expected_size:
            raise ApiError(409, f"upload incomplete: {size} of {s.expected_size} bytes received", offset=size,
                           code="upload_incomplete")
        actual = sha256_file(part, request.app.state.settings.chunk_size)
        if actual != s.expected_sha256:
            raise ApiError(422, f"SHA-256 mismatch: the received file hashes to {actual}, the session "
                                f"declared {s.expected_sha256}; the data is kept, resend from an offset to repair it",
                           sha256=actual, offset=size, code="hash_mismatch")
        camera = _camera(db, s.camera_id)
        meta = dict(started_at=s.started_at, drone_id=s.drone_id, pilot=s.pilot, place=s.place)
        tmp = part.with_suffix(".accepting")
        os.replace(part, tmp)
        try:
            up, job = _accept(request, db, who, tmp, s.filename, actual, size, camera, **meta, session=s)
        except ApiError as err:
            db.rollback()
            if err.status >= 500:  # a fault told as an ApiError: as below
                if tmp.exists():
                    os.replace(tmp, part)
                raise
            # a refusal of the file (not a video, a duplicate) ends the session; the file is gone
            # (a duplicate's bytes are the stored upload's), the refusal is kept to answer again
            tmp.unlink(missing_ok=True)
            s = db.get(UploadSession, session_id)
            s.refusal = {"status": err.status, "detail": err.detail, **jsonable_encoder(err.extra)}
            s.updated_at = utcnow()  # the janitor expires it upload_session_ttl_s from now
            db.commit()
            raise
        except Exception:
            # a fault, not a refusal (the database unreachable, the disk full: 503 / 507): the
            # session stays, and so does what it received, for the client to complete again
            db.rollback()
            if tmp.exists():
                os.replace(tmp, part)
            raise
        return _accepted_json(up, job)
    finally:
        lock.release()
        with _locks_guard:
            _session_locks.pop(session_id, None)


@router.delete("/sessions/{session_id}", response_model=Ok, responses=responses(404, 409))
def abandon_session(session_id: str, request: Request, db: Session = Depends(get_db),
                    who: Principal = Depends(uploaders)) -> dict:
    s = _get_session(db, session_id, who)
    # The session's lock, as a chunk and the completion hold it: removing the part file and the
    # row under a completion that is hashing the file made its rename fail (500), and under a
    # chunk being written made its commit find no row.
    lock = _lock(s.id)
    if not lock.acquire(blocking=False):
        raise ApiError(409, "a chunk for this session is being written, or the upload is being completed")
    try:
        _part_path(request, s.id).unlink(missing_ok=True)
        db.delete(s)
        db.commit()
    finally:
        lock.release()
        with _locks_guard:
            _session_locks.pop(session_id, None)
    return {"ok": True}


@router.get("", response_model=list[UploadOut])
def list_uploads(db: Session = Depends(get_db), who: Principal = Depends(viewers),
                 limit: int = 100, offset: Offset = 0) -> list[dict]:
    q = select(Upload).order_by(Upload.id.desc()).limit(max(1, min(limit, 1000))).offset(max(0, offset))
    if who.role == "operator":
        q = q.where(Upload.owner_token_id == who.token_id) if who.kind == "token" else q.where(Upload.owner_user_id == who.user_id)
    rows = list(db.scalars(q))
    jobs = {j.upload_id: j for j in db.scalars(select(Job).where(Job.upload_id.in_([u.id for u in rows])))} if rows else {}
    return [upload_json(u, jobs.get(u.id)) for u in rows]


@router.get("/{upload_id}", response_model=UploadOut, responses=responses(404))
def get_upload(upload_id: RowId, db: Session = Depends(get_db), who: Principal = Depends(viewers)) -> dict:
    up = db.get(Upload, upload_id)
    if up is None or not _owns(who, up.owner_user_id, up.owner_token_id):
        raise ApiError(404, f"no upload {upload_id}")
    job = db.scalar(select(Job).where(Job.upload_id == up.id))
    return upload_json(up, job)
