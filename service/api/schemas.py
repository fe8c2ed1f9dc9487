"""Response models of the API's JSON routes other than the case (``service.api.case_schema``):
cameras and their scene versions, uploads, jobs, users and tokens, sign-in, system.

Each matches the dict its route builds (``service.api.common.camera_json`` and friends) field for
field; routes declare them as ``response_model``, so FastAPI checks every answer against them and
the OpenAPI document is generated from them. ``extra="forbid"``: a key a route adds without a
field here fails the tests instead of reaching clients undocumented.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Names = dict[str, str]  # page language (zh-CN, en) -> text
JobState = Literal[
    "queued", "running", "done", "failed", "cancelled"
]  # service.models.JOB_STATES
Role = Literal["admin", "reviewer", "operator", "display"]


class Shape(BaseModel):
    """Base of the response models: every field named."""

    model_config = ConfigDict(extra="forbid")


class Ok(Shape):
    ok: Literal[True] = True


# ---- cameras -------------------------------------------------------------------------------------


class SceneView(Shape):
    """What pages draw of a scene (``service.scenes.scene_view``); absent when the stored document
    no longer validates (saved by an older, looser release)."""

    kind: str | None = None
    place: str | None = None
    place_names: dict[str, str] | None = Field(
        default=None, description="the place per language ({zh-CN, en}) when the scene names it so"
    )
    timezone: str | None = None
    frame_size: list[int] | None = None
    zones: list[dict[str, Any]] | None = Field(
        default=None, description="as in the scene document (detector.scene)"
    )
    signals: list[dict[str, Any]] | None = None


class SceneVersionOut(SceneView):
    """One scene version (``service.scenes.version_json``); one version asked for by number also
    carries its document and what pages draw."""

    camera_id: str
    version: int
    sha256: str = Field(description="of the document's UTF-8 bytes")
    created_at: str
    created_by: str | None
    note: str | None
    current: bool
    has_reference: bool
    reference_url: str | None
    document: str | None = Field(default=None, description="the scene YAML as saved")


class VersionList(Shape):
    camera_id: str
    current: int | None
    items: list[SceneVersionOut] = Field(description="newest first, without documents")


class CameraOut(Shape):
    """A camera (``service.api.common.camera_json``); frame, zones and signals when its scene validates."""

    camera_id: str
    kind: str
    place: str | None
    timezone: str | None
    scene_yaml: str
    has_reference: bool
    reference_url: str | None
    created_at: str | None
    updated_at: str | None
    scene_version: int | None
    versions_url: str
    retired: bool
    retired_at: str | None
    retired_by: str | None
    retired_reason: str | None
    stream_url: str | None = Field(default=None, description="the live stream, its password masked")
    place_names: dict[str, str] | None = Field(
        default=None, description="the place per language ({zh-CN, en}) when the scene names it so"
    )
    frame_size: list[int] | None = None
    zones: list[dict[str, Any]] | None = None
    signals: list[dict[str, Any]] | None = None


class CameraNotice(Shape):
    """A warning of a camera save with a code and its values, so a page can say it in its own
    language (``warnings`` holds the same warnings as English sentences)."""

    code: str = Field(description="reference_size: the reference image is not the scene's frame_size")
    text: str
    params: dict[str, int] = Field(default_factory=dict)


class CameraSaved(CameraOut):
    """A camera after a create or edit."""

    changed: bool = Field(
        description="false: the document and reference were the same as before (no new version)"
    )
    warnings: list[str]
    notices: list[CameraNotice] = Field(description="the warnings, each with a code and its values")


class SceneCheck(SceneView):
    """``dry_run``: the edited scene validates (field errors are a 422); nothing was saved."""

    valid: Literal[True]
    camera_id: str
    scene_version: int | None
    document: str = Field(description="the document that would be saved")
    changed: bool


class CameraDeleted(Ok):
    camera_id: str


# ---- uploads and jobs ----------------------------------------------------------------------------


class UploadJob(Shape):
    id: int
    state: JobState
    progress: float
    error: str | None
    cases_found: int | None


class UploadOut(Shape):
    id: int
    filename: str
    sha256: str
    size: int
    duration_s: float | None
    camera_id: str
    owner_user_id: int | None
    owner_token_id: int | None
    started_at: str | None = Field(
        description="the recording start the operator gave (ISO 8601)"
    )
    drone_id: str | None
    pilot: str | None
    place: str | None
    created_at: str | None
    job: UploadJob | None


class UploadAccepted(UploadOut):
    upload_id: int
    job_id: int


class SessionCreated(Shape):
    session_id: str
    offset: int
    size: int


class SessionStatus(SessionCreated):
    filename: str
    state: Literal["open", "complete"] = Field(
        description="complete: the session made an upload (a repeated completion answers with it)"
    )
    upload_id: int | None = Field(description="the upload a completed session made, else null")
    job_id: int | None = Field(description="that upload's job, else null")


class ChunkStored(Shape):
    offset: int = Field(
        description="bytes stored so far: the next chunk's Upload-Offset"
    )
    size: int
    disconnected: bool = Field(
        description="the client went away mid-chunk; what arrived is kept"
    )


class JobOut(Shape):
    id: int
    upload_id: int
    camera_id: str | None
    filename: str | None
    state: JobState
    progress: float = Field(description="percent, 0 to 100")
    error: str | None
    attempts: int
    cases_found: int | None
    cancel_requested: bool
    video_seconds: float | None
    processing_seconds: float | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    scene_version: int | None = Field(description="the scene version the analysis used")


class JobWarning(Shape):
    code: str = Field(
        description="drone_unregistered, damaged, truncated, no_frames, size_changed, no_clock or other"
    )
    text: str
    params: dict[str, int | float | list[dict[str, int | float]]] = Field(
        default_factory=dict,
        description="the numbers in the sentence, for the page's own words: drone_unregistered "
                    "{unregistered, frames, losses: [{from_s, to_s, frames}] (when nothing was judged), "
                    "more_losses (how many more periods than listed)}; truncated {end_s, said_s}; empty for the others",
    )


class JobCase(Shape):
    id: str
    rule: str
    state: str
    start_time: str | None
    url: str = Field(description="the review page of the case")


class JobSegmentOut(Shape):
    """One part of a split job, run by whichever worker of the pool was free."""

    index: int
    span: list[float] = Field(min_length=2, max_length=2, description="its own part of the video, seconds [from, to)")
    state: JobState
    progress: float = Field(description="percent, 0 to 100")
    attempts: int
    error: str | None
    cases_found: int | None
    worker: str | None = Field(description="the worker that ran its last attempt")


class JobReport(JobOut):
    """A job with what the operator in the field needs: warnings, what was seen, its cases."""

    warnings: list[JobWarning]
    seen: dict[str, Any] | None = Field(
        description="what the analysis saw (tracks per zone)"
    )
    zone_names: dict[str, Names]
    timezone: str | None = Field(default=None, description="the time zone of the scene the job was analysed with")
    cases: list[JobCase]
    started_at_given: str | None
    drone_id: str | None
    pilot: str | None
    segments: list[JobSegmentOut] = Field(
        default_factory=list, description="a split job's parts (empty for a job run whole)"
    )


class FlightReportOut(Shape):
    report_id: str
    publication: bool
    reused: bool = Field(
        description="nothing changed since the last report: the same one"
    )
    made_at: str | None
    unit: str | None
    cases: list[str | None]
    counts: list[Any]
    duration_s: float | None
    html_url: str
    video_url: str
    pdf_url: str
    sha256: dict[str, str]


# ---- users, tokens, sign-in ----------------------------------------------------------------------


class UserOut(Shape):
    id: int
    username: str
    role: Role
    active: bool
    created_at: str | None


class TokenOut(Shape):
    id: int
    name: str
    role: Role
    screen: str | None
    prefix: str = Field(description="the token's first characters, to recognise it")
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    active: bool


class NewToken(TokenOut):
    token: str = Field(
        description="the token itself: shown this once, stored only as a hash"
    )


class SignedIn(Shape):
    username: str
    role: Role


class Me(Shape):
    username: str
    role: Role
    kind: Literal["user", "token"]
    user_id: int | None
    token_id: int | None
    screen: str | None


# ---- system ----------------------------------------------------------------------------------------


class Health(Shape):
    status: Literal["ok", "unavailable"]
    db: Literal["ok", "unreachable"]
    disk: Literal["ok", "low"]
    worker: Literal["ok", "stopped", "external"]
    disk_free_bytes: int
    disk_min_free_bytes: int


class PreviousSigningKey(Shape):
    algorithm: str
    fingerprint: str
    public_key_pem: str
    first_used_utc: str | None = None


class SigningKey(PreviousSigningKey):
    # Keys this installation signed with before the current one: exports they signed still verify.
    previous: list[PreviousSigningKey] = []


# ---- non-JSON bodies -------------------------------------------------------------------------------

BINARY = {"schema": {"type": "string", "format": "binary"}}


def binary(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route that answers with a file of one of ``media_types``."""
    return {
        200: {"description": description, "content": {t: BINARY for t in media_types}}
    }


def multipart(
    properties: dict[str, dict[str, Any]], required: list[str]
) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads a multipart form itself (streamed to disk, or
    with limits FastAPI's ``Form``/``File`` cannot set): the form it expects."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }
