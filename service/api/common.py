"""Small helpers shared by the routers: time parsing and row -> JSON shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, field_validator

from detector.evidence.offences import offence_for
from service.errors import ApiError
from service.models import Camera, Case, Job, Upload
from service.plates import plate_view


# Integer primary keys are int4 on PostgreSQL; a larger id in a URL is an input error, not a
# database error (SQLite would fail too, above 2**63).
MAX_ROW_ID = 2**31 - 1
# OFFSET is a 64-bit integer on both databases.
MAX_OFFSET = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Offset = Annotated[int, Query(le=MAX_OFFSET)]

NUL = "\x00"
NUL_MESSAGE = "NUL characters (\\u0000) are not allowed"


def reject_nul(value: str | None, field: str) -> str | None:
    """PostgreSQL text and file paths cannot hold NUL; refuse it before it reaches either."""
    if value is not None and NUL in value:
        raise ApiError(422, f"{field}: {NUL_MESSAGE}")
    return value


def camera_id_given(value: str | None, field: str = "camera") -> str:
    """A camera id as a person or a script sends it, trimmed: an id is a safe name without spaces
    (``detector.scene.CAMERA_ID``), so surrounding whitespace (a pasted id, a padded form field)
    is never part of it, and the upload's other text fields are trimmed the same way. Missing, or
    nothing left once trimmed: 422 ``camera_required``; the page says it in its language (an id of
    spaces was looked up as given and refused as "no camera '   ' is registered")."""
    reject_nul(value, field)
    text = value.strip() if value is not None else ""
    if not text:
        raise ApiError(422, f"{field}: required (the camera id of a registered scene)", code="camera_required")
    return text


async def reject_nul_in_url(request: Request) -> None:
    """App-wide dependency: a %00 in any path segment or query parameter is refused with a 422.
    ``async``: it reads no file or database, and a sync dependency would cost every request a hop
    to the thread pool and back."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            reject_nul(value, name)
    for name, value in request.query_params.multi_items():
        reject_nul(name, "query parameter name")
        reject_nul(value, name)


class ApiModel(BaseModel):
    """Base for JSON request bodies: every string field (or list of strings) is refused if it holds NUL."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and NUL in v for v in items):
            raise ValueError(NUL_MESSAGE)
        return value


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_when(value: str | None, field: str) -> datetime | None:
    """ISO 8601 with a UTC offset; naive times are refused because nobody knows their zone."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, f"{field}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ApiError(422, f"{field}: give a UTC offset, e.g. 2024-05-01T08:00:00+08:00")
    try:
        parsed.astimezone(timezone.utc)  # the database stores UTC: 0001-01-01T00:00+05:00 has none
    except OverflowError:
        raise ApiError(422, f"{field}: out of range once converted to UTC: {value!r}") from None
    return parsed


def camera_json(cam: Camera, scene: Any | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "camera_id": cam.id, "kind": cam.kind, "place": cam.place, "timezone": cam.timezone,
        "scene_yaml": cam.scene_yaml, "has_reference": cam.reference_path is not None,
        "reference_url": f"/api/cameras/{cam.id}/reference" if cam.reference_path else None,
        "created_at": iso(cam.created_at), "updated_at": iso(cam.updated_at),
        "scene_version": cam.scene_version, "versions_url": f"/api/cameras/{cam.id}/versions",
        "retired": cam.retired_at is not None, "retired_at": iso(cam.retired_at), "retired_by": cam.retired_by,
        "retired_reason": cam.retired_reason,
    }
    if cam.stream_url:
        from detector.media.recorder import masked_url

        out["stream_url"] = masked_url(cam.stream_url)
    if scene is not None:
        out["place_names"] = scene.place_names  # the place per language, when the scene names it so
        out["frame_size"] = list(scene.frame_size)
        out["zones"] = [z.model_dump(mode="json", exclude_none=True) for z in scene.zones]
        out["signals"] = [s.model_dump(mode="json", exclude_none=True) for s in scene.signals]
    return out


def refuse_retired(cam: Camera) -> None:
    """A retired camera takes no new uploads or jobs (409); its existing cases stay reviewable."""
    if cam.retired_at is not None:
        when = cam.retired_at.date().isoformat()
        raise ApiError(409, f"camera {cam.id!r} was retired on {when}"
                            f"{' (' + cam.retired_reason + ')' if cam.retired_reason else ''} and takes no new "
                            "uploads or jobs; an administrator or reviewer can unretire it on its camera page",
                       code="camera_retired", camera_id=cam.id, retired_at=iso(cam.retired_at))


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "upload_id": job.upload_id, "camera_id": job.upload.camera_id if job.upload else None,
        "filename": job.upload.filename if job.upload else None,
        "state": job.state, "progress": job.progress, "error": job.error, "attempts": job.attempts,
        "cases_found": job.cases_found, "cancel_requested": job.cancel_requested,
        "video_seconds": job.video_seconds, "processing_seconds": job.processing_seconds,
        "created_at": iso(job.created_at), "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
        "scene_version": job.scene_version.number if job.scene_version is not None else None,
    }


def upload_json(up: Upload, job: Job | None) -> dict[str, Any]:
    return {
        "id": up.id, "filename": up.filename, "sha256": up.sha256, "size": up.size, "duration_s": up.duration_s,
        "camera_id": up.camera_id, "owner_user_id": up.owner_user_id, "owner_token_id": up.owner_token_id,
        "started_at": iso(up.started_at), "drone_id": up.drone_id, "pilot": up.pilot, "place": up.place,
        "created_at": iso(up.created_at),
        "job": None if job is None else {"id": job.id, "state": job.state, "progress": job.progress,
                                         "error": job.error, "cases_found": job.cases_found},
    }


def offence_view(rule: str, object_class: str | None) -> dict[str, Any]:
    """The offence as the evidence sheet and the flight report name it (per object: a car going the
    wrong way is a motor vehicle's offence, code 1301), so the page, the sheet and an export agree."""
    offence = offence_for(rule, object_class or "")
    return {"names": {"zh-CN": offence.name_zh, "en": offence.name_en}, "code": offence.code or None}


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def case_version(case: Case) -> str:
    """The case as a reviewer sees it, as an opaque token: ``updated_at`` in microseconds, which
    every change a reviewer decides by moves (a decision, an undo or reopening, a plate
    correction, evidence replaced by a rerun), and the publication queue's media do not (they are
    checked by hash at publishing). Two reviewers' views of one case compare by it: a decision
    sent with the version its page showed is refused when the case changed since
    (``service.api.cases.check_version``), instead of landing on a case its reviewer never saw."""
    if case.updated_at is None:
        return ""  # a case not stored yet (its row's default is set on insert): nothing to compare
    stamp = case.updated_at if case.updated_at.tzinfo else case.updated_at.replace(tzinfo=timezone.utc)
    return str((stamp - _EPOCH) // timedelta(microseconds=1))


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "pipeline_id": case.pipeline_id, "job_id": case.job_id, "camera_id": case.camera_id,
        "rule": case.rule, "offence": offence_view(case.rule, case.object_class),
        "zone": case.zone, "start_s": case.start_s, "end_s": case.end_s,
        "start_time": iso(case.start_time), "start_time_local": case.data.get("start_time"),
        "object_class": case.object_class, "track_ids": case.track_ids, "confidence": case.confidence,
        "explanation": case.explanation, "explanation_zh": case.data.get("explanation_zh"),
        "state": case.state, "reason": case.reason, "reason_code": case.reject_reason_code, "reviewer": case.reviewer,
        "decided_at": iso(case.decided_at), "created_at": iso(case.created_at),
        "snapshot_url": f"/api/cases/{case.id}/evidence/snapshot" if case.evidence.get("snapshot") else None,
        "plate": plate_view(case),
        "version": case_version(case),
    }
