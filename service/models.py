"""Database tables (SQLAlchemy 2 typed models).

All timestamps are stored as naive UTC and handed back timezone-aware (``UTCDateTime``), because
SQLite keeps no offsets and PostgreSQL would otherwise convert to the server's zone. Enumerated
states are short strings checked in Python, so adding a state needs no ALTER TYPE.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("admin", "reviewer", "operator", "display")
TOKEN_ROLES = ("operator", "display")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
CASE_STATES = ("pending", "approved", "rejected", "published", "withdrawn")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A browser login; the cookie holds a random token, the table only its keyed hash."""

    __tablename__ = "login_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token in lists
    role: Mapped[str] = mapped_column(String(16))
    screen: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # scene.camera
    kind: Mapped[str] = mapped_column(String(16))
    place: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64))
    scene_yaml: Mapped[str] = mapped_column(Text)
    reference_path: Mapped[str | None] = mapped_column(String(512))  # relative to data_dir
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The scene version in force (SceneVersion.number of this camera); ``scene_yaml`` and
    # ``reference_path`` above are copies of that version's, kept for the code that reads them.
    scene_version: Mapped[int | None] = mapped_column(Integer)
    # A retired camera takes no new uploads or jobs and leaves the default lists; its cases stay.
    retired_at: Mapped[datetime | None]
    retired_by: Mapped[str | None] = mapped_column(String(160))
    retired_reason: Mapped[str | None] = mapped_column(Text)
    # A live camera's stream (RTSP, HTTP-FLV, HLS): recorded in segments, each analysed (service.live)
    stream_url: Mapped[str | None] = mapped_column(String(1024))


class SceneVersion(Base):
    """One saved state of a camera's scene (the whole document and the reference frame it was
    drawn on). Rows are only ever added: a job and its cases point at the version they were
    analysed with, so a later edit never changes the scene an old case was judged by."""

    __tablename__ = "scene_versions"
    __table_args__ = (UniqueConstraint("camera_id", "number", name="uq_scene_versions_camera_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per camera
    document: Mapped[str] = mapped_column(Text)  # the scene YAML as saved
    sha256: Mapped[str] = mapped_column(String(64))  # of the document's UTF-8 bytes
    reference_path: Mapped[str | None] = mapped_column(String(512))  # relative to data_dir
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(160))
    note: Mapped[str | None] = mapped_column(Text)


class Upload(Base):
    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(512))  # relative to data_dir
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    owner_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime | None]
    drone_id: Mapped[str | None] = mapped_column(String(128))
    pilot: Mapped[str | None] = mapped_column(String(128))
    place: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadSession(Base):
    __tablename__ = "upload_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    filename: Mapped[str] = mapped_column(String(255))
    expected_size: Mapped[int] = mapped_column(BigInteger)
    expected_sha256: Mapped[str] = mapped_column(String(64))
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None]
    drone_id: Mapped[str | None] = mapped_column(String(128))
    pilot: Mapped[str | None] = mapped_column(String(128))
    place: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the session completed (the Upload it made): the row stays until the janitor expires
    # it, so a completion whose answer was lost is answered again with the upload and its job. No
    # foreign key, as ``Job.scene_version_id``: adding one to an existing SQLite table rebuilds it.
    upload_id: Mapped[int | None] = mapped_column(Integer)
    # Set when the completion refused the file (not a video, a duplicate): the error's ``status``
    # and body, kept like ``upload_id`` so that a completion whose refusal was lost is answered
    # with the same refusal, not 404 'no upload session' (the page said the session was lost).
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # percent 0..100
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cases_found: Mapped[int | None] = mapped_column(Integer)
    out_dir: Mapped[str | None] = mapped_column(String(512))  # relative to data_dir, per attempt
    video_seconds: Mapped[float | None] = mapped_column(Float)
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Ownership of a running job: the worker renews its lease while it works; only an expired
    # lease means the worker died (service.jobs.lease).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    # What the analysis reported: pipeline warnings and what it saw (tracks per zone), so that
    # "nothing found" is told apart from "nothing looked at".
    warnings: Mapped[list[Any] | None] = mapped_column(JSON)
    seen: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The scene version (SceneVersion.id) the analysis used: set when queued, confirmed when the
    # run starts. No foreign key: adding one to an existing SQLite table rebuilds it, and dropping
    # the old jobs / cases table under PRAGMA foreign_keys would cascade-delete their children.
    scene_version_id: Mapped[int | None] = mapped_column(Integer, index=True)

    upload: Mapped[Upload] = relationship(lazy="joined")
    scene_version: Mapped[SceneVersion | None] = relationship(
        primaryjoin="foreign(Job.scene_version_id) == SceneVersion.id", viewonly=True, lazy="selectin")


class JobSegment(Base):
    """One part of a split job (a long upload cut into spans analysed in parallel by the worker
    pool, service.jobs.segments). Its own table rather than child ``jobs`` rows: a job is one
    upload's analysis (``jobs.upload_id`` is unique, and lists, counts and reports mean that), and
    a segment carries the same queue fields (state, attempts, lease) for its part only. The
    parent job's progress is the sum of its segments'; its cases link to the parent job."""

    __tablename__ = "job_segments"
    __table_args__ = (UniqueConstraint("job_id", "index", name="uq_job_segments_job_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)  # 0-based position in the source
    span_from_s: Mapped[float] = mapped_column(Float)  # the segment's own span [from, to) of the source
    span_to_s: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # JOB_STATES
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # percent 0..100
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    out_dir: Mapped[str | None] = mapped_column(String(512))  # relative to data_dir, per attempt
    cases_found: Mapped[int | None] = mapped_column(Integer)
    video_seconds: Mapped[float | None] = mapped_column(Float)  # decoded, pre-roll included
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    worker: Mapped[str | None] = mapped_column(String(64))  # who ran the last attempt
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    zone: Mapped[str | None] = mapped_column(String(128))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    start_time: Mapped[datetime | None] = mapped_column(index=True)
    object_class: Mapped[str | None] = mapped_column(String(64))
    track_ids: Mapped[list[Any]] = mapped_column(default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[str] = mapped_column(Text, default="")
    out_dir: Mapped[str] = mapped_column(String(512))  # the run folder (relative to data_dir)
    evidence_dir: Mapped[str] = mapped_column(String(512))  # the case folder (relative to data_dir)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)  # kind -> path relative to out_dir
    evidence_hashes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # path rel. out_dir -> sha256
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the case dict from cases.json
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # A rejected case's reason as its code (service.reject_reasons.REJECT_REASONS), what the
    # statistics count by; ``reason`` holds the reviewer's words. None in every other state.
    reject_reason_code: Mapped[str | None] = mapped_column(String(32))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    published_dir: Mapped[str | None] = mapped_column(String(512))
    published_hashes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When the published media in force were recorded, if made after the decision (media made
    # again under a new redaction policy or from replaced evidence); the screens' feed sends with
    # ``since`` what was decided *or* given new media after it (service.api.public.feed).
    media_at: Mapped[datetime | None]
    # the pipeline's plate read (text, confidence, format_ok, kind, frames_read, t); never edited:
    # a reviewer's correction is a PlateCorrection row
    plate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the number the public sees once published (``YYYYMMDD-NNNN``: the offence's local date and a
    # sequence of that day), and the screens it is shown on (None = every screen); service.case_number
    public_number: Mapped[str | None] = mapped_column(String(16), unique=True, index=True)
    public_screens: Mapped[list[Any] | None] = mapped_column(JSON)
    # The scene version (SceneVersion.id) the case was judged by: its job's at ingest.
    scene_version_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # What makes a case the same case whoever writes it (service.ingest.dedup_key: source hash,
    # segment span, model, scene version, rule, zone, decision time, tracks); unique, so a retried
    # segment can never add a second row. None on rows from before it.
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The search key of the plate in force (the newest correction, else the read), for
    # ``GET /api/cases?plate=``: service.plate_search. Set by ingest and by each correction;
    # None when the case has no plate. Indexed below (a trigram index on PostgreSQL).
    plate_key: Mapped[str | None] = mapped_column(String(64))

    plate_corrections: Mapped[list["PlateCorrection"]] = relationship(
        lazy="selectin", order_by="PlateCorrection.id", cascade="all, delete-orphan")


class PlateCorrection(Base):
    """A reviewer's correction of a case's plate text; the newest row is the one in force, older
    ones stay as the history (the audit log records each too)."""

    __tablename__ = "plate_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(32))
    format_ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(160))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(160))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


Index("ix_audit_object", AuditEntry.object_type, AuditEntry.object_id)
# The review queue's order (service.api.cases): a page is the first entries of one of these, of
# one state or of all, instead of every matching row read and sorted (migration 0008).
Index("ix_cases_queue_order", Case.created_at, Case.start_s, Case.id)
Index("ix_cases_state_queue_order", Case.state, Case.created_at, Case.start_s, Case.id)
# The plate search is a substring match (``LIKE '%A123%'``), which a B-tree cannot serve: on
# PostgreSQL a trigram GIN index does (migration 0009, where pg_trgm can be had); on SQLite the
# plain index is a narrow copy of the column that a count or a filter scans instead of the rows.
Index("ix_cases_plate_key", Case.plate_key, postgresql_using="gin", postgresql_ops={"plate_key": "gin_trgm_ops"})


class LiveSegment(Base):
    """A finished segment of a live camera's recording (detector.media.recorder), and the job that
    analyses it inside its window (the segments before and after it joined by stream copy;
    ``span_*`` is the segment's own part of the window). ``deleted_at``: retention removed the file."""

    __tablename__ = "live_segments"
    __table_args__ = (UniqueConstraint("camera_id", "path", name="uq_live_segments_camera_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    path: Mapped[str] = mapped_column(String(512))  # relative to data_dir
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(Float)
    connection: Mapped[str] = mapped_column(String(64))  # one unbroken recording; windows stay inside it
    sequence: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    ended_by: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    window_path: Mapped[str | None] = mapped_column(String(512))
    span_from_s: Mapped[float | None] = mapped_column(Float)
    span_to_s: Mapped[float | None] = mapped_column(Float)
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamGap(Base):
    """Time a live camera's recording has no pictures for (``end_at`` None: still down)."""

    __tablename__ = "stream_gaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class RecorderStatus(Base):
    """A camera recorder's heartbeat (every few seconds): what the health page and metrics read."""

    __tablename__ = "recorder_status"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    last_packet_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
