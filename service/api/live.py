"""Live cameras over the API: a camera's stream URL, and the health of every recorded camera
(online/offline, last segment, gaps, lag behind live; ``service.live.health``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import Field
from sqlalchemy.orm import Session

from detector.media.recorder import STREAM_SCHEMES, masked_url, stream_url_problem
from detector.scene import CAMERA_ID, MAX_NAME
from service import audit
from service.api.common import ApiModel, camera_json
from service.api.schemas import CameraOut, Shape
from service.errors import ApiError, responses
from service.live.health import camera_health
from service.models import Camera
from service.security import Principal, get_db, require_roles

router = APIRouter(tags=["live cameras"], responses=responses(401, 403))
readers = require_roles("admin", "reviewer", "operator")
admins = require_roles("admin")
CameraId = Annotated[str, PathParam(max_length=MAX_NAME, pattern=f"^{CAMERA_ID.pattern}$")]
class StreamIn(ApiModel):
    """``stream_url``: RTSP (also HTTP-FLV / HLS / RTMP where PyAV opens it); null or "" removes it."""

    stream_url: str | None = Field(default=None, max_length=1024)


class CameraHealthOut(Shape):
    camera_id: str
    stream: bool
    online: bool
    connected: bool
    heartbeat_at: str | None
    last_error: str | None
    last_segment: str | None
    last_segment_end: str | None
    segments: int
    gaps: int
    gap_seconds: float
    gap_open_since: str | None
    recording_lag_s: float | None
    analysis_lag_s: float | None


@router.put("/api/cameras/{camera_id}/stream", response_model=CameraOut, responses=responses(404, 409),
            response_model_exclude_unset=True)
def set_stream(camera_id: CameraId, body: StreamIn, request: Request, db: Session = Depends(get_db),
               who: Principal = Depends(admins)) -> dict:
    """Set or remove a camera's live stream: every finished segment of it becomes an analysis job."""
    cam = db.get(Camera, camera_id)
    if cam is None:
        raise ApiError(404, f"no camera {camera_id!r}")
    url = (body.stream_url or "").strip() or None
    problem = stream_url_problem(url) if url is not None else None
    if problem is not None:
        raise ApiError(422, f"stream_url: a {'/'.join(STREAM_SCHEMES)} URL with a host expected ({problem})",
                       errors=[{"field": "stream_url", "loc": ["body", "stream_url"],
                                "msg": f"not a stream URL: {problem}", "type": "url"}])
    cam.stream_url = url
    audit.record(db, request, who, "camera.stream", "camera", cam.id, stream_url=masked_url(url))
    db.commit()
    manager = getattr(request.app.state, "live_manager", None)
    if manager is not None:
        manager.wake()  # the service's own recorders start (or stop) now, not within a minute
    return camera_json(cam)


@router.get("/api/live/health", response_model=list[CameraHealthOut])
def live_health(request: Request, db: Session = Depends(get_db), _: Principal = Depends(readers)) -> list[dict]:
    """Every camera in service that has a stream URL or recorded footage: online/offline, its
    last segment, gaps, and its lag behind live (recording and analysis)."""
    return [h.to_json() for h in camera_health(db, request.app.state.settings)]
