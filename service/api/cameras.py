"""Cameras (scenes): registered once with the scene YAML and, for a fixed camera, a reference frame."""

from __future__ import annotations

from typing import Annotated

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from detector.scene import CAMERA_ID, MAX_NAME, Scene, SceneError, load_scene_text
from service import audit
from service.api.common import camera_json
from service.errors import ApiError
from service.models import Camera, utcnow
from service.safe_files import servable
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
editors = require_roles("admin", "reviewer")
readers = require_roles("admin", "reviewer", "operator")
# A camera id in a URL is a scene's ``camera``: the same safe slug ("." / ".." are no ids: 422).
CameraId = Annotated[str, PathParam(max_length=MAX_NAME, pattern=f"^{CAMERA_ID.pattern}$")]

MAX_SCENE_BYTES = 1024 * 1024
MAX_REFERENCE_BYTES = 50 * 1024 * 1024
IMAGE_SUFFIX = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png", ".webp": ".webp", ".bmp": ".bmp"}


def _storable(scene: Scene) -> Scene:
    """The scene's fields that become columns; a YAML "\\0" escape would put NUL in them."""
    if scene.place and "\x00" in scene.place:
        raise ApiError(422, "scene: place: NUL characters (\\u0000) are not allowed", code="bad_scene")
    return scene


def scene_of(cam: Camera) -> Scene | None:
    try:
        return load_scene_text(cam.scene_yaml, cam.id)
    except SceneError:
        return None  # a scene saved by an older, looser version: still listed, zones unknown


async def _read_form(request: Request) -> tuple[str, bytes | None, str | None]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise ApiError(415, "send multipart/form-data with a 'scene' file or text field and optional 'reference' image")
    try:
        form = await request.form(max_files=2, max_fields=10, max_part_size=MAX_SCENE_BYTES)
    except Exception as err:  # noqa: BLE001 - malformed body
        raise ApiError(400, f"malformed form: {err}") from None
    scene = form.get("scene")
    if scene is None:
        raise ApiError(422, "scene: required (a YAML file or text)")
    if isinstance(scene, UploadFile):
        raw = await scene.read(MAX_SCENE_BYTES + 1)
        if len(raw) > MAX_SCENE_BYTES:
            raise ApiError(413, "scene file larger than 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, "scene: not UTF-8 text") from None
    else:
        text = str(scene)
    ref = form.get("reference")
    ref_bytes, ref_name = None, None
    if isinstance(ref, UploadFile) and ref.filename:
        ref_bytes = await ref.read(MAX_REFERENCE_BYTES + 1)
        if len(ref_bytes) > MAX_REFERENCE_BYTES:
            raise ApiError(413, "reference image larger than 50 MiB")
        ref_name = ref.filename
    await form.close()
    return text, ref_bytes, ref_name


def _save_reference(request: Request, cam_id: str, data: bytes, name: str, scene: Scene) -> tuple[str, list[str]]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ApiError(415, "reference: not an image OpenCV can read (use JPEG or PNG)")
    settings = request.app.state.settings
    suffix = next((v for k, v in IMAGE_SUFFIX.items() if name.lower().endswith(k)), ".png")
    folder = settings.cameras_dir / cam_id
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("reference.*"):
        old.unlink()
    path = folder / f"reference{suffix}"
    if suffix == ".png" and not name.lower().endswith(".png"):
        cv2.imwrite(str(path), image)
    else:
        path.write_bytes(data)
    warnings = []
    h, w = image.shape[:2]
    if (w, h) != tuple(scene.frame_size):
        warnings.append(f"reference image is {w}x{h} but the scene's frame_size is "
                        f"{scene.frame_size[0]}x{scene.frame_size[1]}; zones are drawn in frame_size pixels")
    return str(path.relative_to(settings.data_dir)), warnings


@router.post("", status_code=201)
async def create_camera(request: Request, db: Session = Depends(get_db), who: Principal = Depends(editors)) -> dict:
    text, ref, ref_name = await _read_form(request)
    scene = _storable(load_scene_text(text, "scene"))
    if db.get(Camera, scene.camera) is not None:
        raise ApiError(409, f"camera {scene.camera!r} already exists; use PUT /api/cameras/{scene.camera} to replace its scene",
                       camera_id=scene.camera)
    cam = Camera(id=scene.camera, kind=scene.kind, place=scene.place, timezone=scene.timezone, scene_yaml=text)
    warnings: list[str] = []
    if ref is not None:
        cam.reference_path, warnings = _save_reference(request, cam.id, ref, ref_name or "", scene)
    db.add(cam)
    audit.record(db, request, who, "camera.create", "camera", cam.id, reference=ref is not None)
    db.commit()
    return {**camera_json(cam, scene), "warnings": warnings}


@router.put("/{camera_id}")
async def replace_camera(camera_id: CameraId, request: Request, db: Session = Depends(get_db),
                         who: Principal = Depends(editors)) -> dict:
    cam = db.get(Camera, camera_id)
    if cam is None:
        raise ApiError(404, f"no camera {camera_id!r}")
    text, ref, ref_name = await _read_form(request)
    scene = _storable(load_scene_text(text, "scene"))
    if scene.camera != camera_id:
        raise ApiError(422, f"camera: the scene names camera {scene.camera!r}, not {camera_id!r}")
    cam.scene_yaml, cam.kind, cam.place, cam.timezone, cam.updated_at = text, scene.kind, scene.place, scene.timezone, utcnow()
    warnings: list[str] = []
    if ref is not None:
        cam.reference_path, warnings = _save_reference(request, cam.id, ref, ref_name or "", scene)
    audit.record(db, request, who, "camera.update", "camera", cam.id, reference=ref is not None)
    db.commit()
    return {**camera_json(cam, scene), "warnings": warnings}


@router.get("")
def list_cameras(db: Session = Depends(get_db), _: Principal = Depends(readers)) -> list[dict]:
    return [camera_json(c, scene_of(c)) for c in db.scalars(select(Camera).order_by(Camera.id))]


@router.get("/{camera_id}")
def get_camera(camera_id: CameraId, db: Session = Depends(get_db), _: Principal = Depends(readers)) -> dict:
    cam = db.get(Camera, camera_id)
    if cam is None:
        raise ApiError(404, f"no camera {camera_id!r}")
    return camera_json(cam, scene_of(cam))


@router.get("/{camera_id}/reference")
def get_reference(camera_id: CameraId, request: Request, db: Session = Depends(get_db), _: Principal = Depends(readers)):
    cam = db.get(Camera, camera_id)
    if cam is None or not cam.reference_path:
        raise ApiError(404, f"camera {camera_id!r} has no reference image")
    data_dir = request.app.state.settings.data_dir
    path = data_dir / cam.reference_path
    if not path.is_file() or not servable(path, data_dir):
        raise ApiError(404, f"camera {camera_id!r}: reference image missing on disk")
    return FileResponse(path)
