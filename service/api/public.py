"""The public feed for exposure screens: approved and published cases, redacted media only."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.common import iso, parse_when
from service.errors import ApiError
from service.models import Camera, Case, Job, Upload, utcnow
from service.publication import PUBLISHED_SHEET
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/public", tags=["public"])
screens = require_roles("display", "reviewer", "admin")
PUBLIC_STATES = ("approved", "published")
MEDIA_SUFFIX = {"video": (".mp4", ".webm"), "image": (".jpg", ".jpeg", ".png"), "sheet": (".jpg",)}
SHEET_NAME = PUBLISHED_SHEET  # the redacted evidence sheet; cases published before sheets have none


def media_name(hashes: dict[str, str], kind: str) -> str | None:
    """The published file of ``kind``: the sheet by its name, else the first file with the
    kind's suffix that is not the sheet (the still is ``published.jpg``)."""
    if kind == "sheet":
        return SHEET_NAME if SHEET_NAME in hashes else None
    return next((n for n in sorted(hashes) if n != SHEET_NAME and n.lower().endswith(MEDIA_SUFFIX[kind])), None)


def _check_screen(who: Principal, screen: str | None) -> None:
    if who.kind == "token" and who.screen and screen and screen != who.screen:
        raise ApiError(403, f"this token belongs to screen {who.screen!r}, not {screen!r}")


@router.get("/cases")
def feed(db: Session = Depends(get_db), who: Principal = Depends(screens), screen: str | None = None,
         since: str | None = None, limit: int = 50) -> dict:
    _check_screen(who, screen)
    now = utcnow()
    q = (select(Case, Camera, Upload).join(Camera, Case.camera_id == Camera.id).join(Job, Case.job_id == Job.id)
         .join(Upload, Job.upload_id == Upload.id)
         .where(Case.state.in_(PUBLIC_STATES), Case.published_hashes.is_not(None), Case.decided_at <= now))
    after = parse_when(since, "since")
    if after is not None:
        q = q.where(Case.decided_at > after)
    q = q.order_by(Case.decided_at.desc(), Case.id).limit(max(1, min(limit, 200)))
    items = []
    for case, cam, up in db.execute(q):
        items.append({
            "id": case.id, "rule": case.rule, "zone": case.zone, "object_class": case.object_class,
            "place": up.place or cam.place, "camera": cam.id, "start_time": iso(case.start_time),
            "start_time_local": case.data.get("start_time"), "timezone": cam.timezone,
            "explanation": case.explanation, "explanation_zh": case.data.get("explanation_zh"),
            "state": case.state, "decided_at": iso(case.decided_at),
            "media": {"video": f"/api/public/cases/{case.id}/media/video",
                      "image": f"/api/public/cases/{case.id}/media/image",
                      **({"sheet": f"/api/public/cases/{case.id}/media/sheet"}
                         if SHEET_NAME in case.published_hashes else {})},
        })
    # server_time: pass it back as ``since`` next time and no case decided meanwhile is missed
    return {"items": items, "screen": screen or who.screen, "server_time": iso(now)}


@router.get("/cases/{case_id}/media/{kind}")
def media(case_id: str, kind: str, request: Request, db: Session = Depends(get_db), who: Principal = Depends(screens)):
    if kind not in MEDIA_SUFFIX:
        raise ApiError(404, "media kind must be video, image or sheet")
    case = db.get(Case, case_id)
    if case is None or case.state not in PUBLIC_STATES or not case.published_hashes or not case.published_dir:
        raise ApiError(404, f"no public case {case_id!r}")
    name = media_name(case.published_hashes, kind)
    path = request.app.state.settings.data_dir / case.published_dir / name if name else None
    if path is None or not path.is_file():
        raise ApiError(404, f"case {case_id!r} has no published {kind}")
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                        headers={"Cache-Control": "public, max-age=300"})
