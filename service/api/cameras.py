"""Cameras (scenes): registered with the scene YAML and, for a fixed camera, a reference frame;
edited (each change a new scene version, service.scenes), retired and unretired.

A retired camera takes no new uploads or jobs and leaves the default lists, but its cases stay
reviewable; a camera that has uploads or cases is never deleted (retire it instead).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import cv2
import numpy as np
import yaml
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser

from detector.scene import CAMERA_ID, MAX_NAME, MAX_PLACE, Scene, load_scene_text
from service import audit, scenes
from service.api.common import MAX_ROW_ID, ApiModel, camera_json, iso
from service.api.schemas import (
    CameraDeleted, CameraNotice, CameraOut, CameraSaved, SceneCheck, SceneVersionOut, VersionList, binary, multipart,
)
from service.errors import ApiError, responses
from service.models import Camera, Case, SceneVersion, Upload, UploadSession, utcnow
from service.safe_files import servable
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/cameras", tags=["cameras"], responses=responses(401, 403))
editors = require_roles("admin", "reviewer")
readers = require_roles("admin", "reviewer", "operator")
admins = require_roles("admin")
# A camera id in a URL is a scene's ``camera``: the same safe slug ("." / ".." are no ids: 422).
CameraId = Annotated[str, PathParam(max_length=MAX_NAME, pattern=f"^{CAMERA_ID.pattern}$")]
VersionNumber = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]

MAX_SCENE_BYTES = 1024 * 1024
MAX_REFERENCE_BYTES = 50 * 1024 * 1024
IMAGE_SUFFIX = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png", ".webp": ".webp", ".bmp": ".bmp"}

# The camera form (read by ``_read_form``, which sets its own size limits), for the OpenAPI document.
_SCENE_FIELD = {"type": "string", "format": "binary", "description": "the scene YAML (a file, or the text as a field)"}
_REFERENCE_FIELD = {"type": "string", "format": "binary",
                    "description": "the reference frame (JPEG or PNG, up to 50 MiB)"}
_EDIT_FIELDS = {
    "base_version": {"type": "integer", "minimum": 1,
                     "description": "the version the edit was made on (409 if not current)"},
    "note": {"type": "string", "maxLength": 500, "description": "a note for the version history"},
}
SCENE_FORM = multipart({"scene": _SCENE_FIELD, "reference": _REFERENCE_FIELD, **_EDIT_FIELDS}, ["scene"])
REFERENCE_FORM = multipart({"reference": _REFERENCE_FIELD, **_EDIT_FIELDS}, ["reference"])
FORM_ERRORS = responses(400, 404, 409, 413, 415)
# Fields a camera or version answer leaves out (zones of a scene that no longer validates, a
# version's document in lists) stay out rather than become nulls.
AS_BUILT = {"response_model_exclude_unset": True}
IMAGE = binary("the reference image", "image/jpeg", "image/png", "image/webp", "image/bmp")


def _field_error(field: str, msg: str, kind: str, status: int = 422, **extra: Any) -> ApiError:
    """A scene problem the model cannot see (it is about the camera, not the document), in the
    same shape as the scene's own field errors."""
    return ApiError(status, f"scene: {field}: {msg}", code="bad_scene",
                    errors=[{"field": field, "loc": [field], "msg": msg, "type": kind}], **extra)


def _storable(scene: Scene) -> Scene:
    """The scene's fields that become columns; a YAML "\\0" escape would put NUL in them."""
    if scene.place and "\x00" in scene.place:
        raise _field_error("place", "NUL characters (\\u0000) are not allowed", "nul_character")
    return scene


def _validated(text: str, camera_id: str | None = None) -> Scene:
    scene = _storable(load_scene_text(text, "scene"))
    if camera_id is not None and scene.camera != camera_id:
        raise _field_error("camera", f"the scene names camera {scene.camera!r}, not {camera_id!r} "
                                     "(a camera keeps its id; register a new camera for another id)", "camera_mismatch")
    return scene


def scene_of(cam: Camera) -> Scene | None:
    return scenes.parse(cam.scene_yaml, cam.id)  # None: saved by an older, looser release; zones unknown


def _camera(db: Session, camera_id: str) -> Camera:
    cam = db.get(Camera, camera_id)
    if cam is None:
        raise ApiError(404, f"no camera {camera_id!r}")
    return cam


def _check_base(cam: Camera, base_version: int | None) -> None:
    """Optimistic locking: an edit made on version N is refused once someone saved N+1."""
    if base_version is not None and base_version != cam.scene_version:
        raise ApiError(409, f"camera {cam.id!r} is at scene version {cam.scene_version}, not {base_version}: "
                            "someone saved a change meanwhile; reload the camera and edit again",
                       code="scene_version_conflict", scene_version=cam.scene_version)


def _answer(cam: Camera, scene: Scene | None, changed: bool, notices: list[CameraNotice]) -> dict:
    return {**camera_json(cam, scene), "changed": changed, "warnings": [n.text for n in notices],
            "notices": [n.model_dump() for n in notices]}


def _conflict(cam_id: str, latest: int | None = None) -> ApiError:
    extra = {"scene_version": latest} if latest is not None else {}
    return ApiError(409, f"camera {cam_id!r} was changed by someone else at the same moment; reload and "
                         "edit again", code="scene_version_conflict", **extra)


def _commit_version(db: Session, cam: Camera) -> None:
    try:
        db.commit()
    except IntegrityError:  # two editors saved at once: the same version number
        db.rollback()
        raise _conflict(cam.id) from None


@dataclass
class SceneForm:
    """A multipart camera form: the scene document, an optional reference image, and for an edit
    the version it was made on and a note for the history."""

    text: str | None
    reference: bytes | None
    reference_name: str | None
    base_version: int | None
    note: str | None


def _small_int(value: Any, field: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ROW_ID:
        raise ApiError(422, f"{field}: a scene version number (1, 2, ...) expected, got {text[:20]!r}")
    return int(text)


def _note(value: Any) -> str | None:
    if value is None or isinstance(value, UploadFile) or not str(value).strip():
        return None
    note = str(value).strip()
    if len(note) > 500 or "\x00" in note:
        raise ApiError(422, "note: at most 500 characters, no NUL")
    return note


class _WholeForm(MultiPartParser):
    """Starlette's multipart parser, noting whether the body reached the form's closing boundary:
    python-multipart takes a body that stops inside a part as ended there and leaves that part out,
    so a form cut off in its reference image read as a form without one (saved, 200)."""

    complete = False

    def on_end(self) -> None:
        self.complete = True


async def _read_form(request: Request, scene_required: bool = True) -> SceneForm:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise ApiError(415, "send multipart/form-data with a 'scene' file or text field and optional 'reference' image")
    limits = dict(max_files=2, max_fields=10, max_part_size=MAX_SCENE_BYTES)
    try:
        if ctype.startswith("multipart/form-data"):
            parser = _WholeForm(request.headers, request.stream(), **limits)
            form = await parser.parse()
            if not parser.complete:
                await form.close()
                raise ApiError(400, "malformed form: the body ended before the form's closing boundary (cut off "
                                    "in transfer?); nothing was saved, send it again")
        else:
            form = await request.form(**limits)
    except (ApiError, HTTPException):  # ours, or service.body_limit's 413
        raise
    except Exception as err:  # noqa: BLE001 - malformed body
        raise ApiError(400, f"malformed form: {err}") from None
    scene = form.get("scene")
    text: str | None = None
    if scene is None:
        if scene_required:
            raise ApiError(422, "scene: required (a YAML file or text)")
    elif isinstance(scene, UploadFile):
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
    base_version, note = _small_int(form.get("base_version"), "base_version"), _note(form.get("note"))
    await form.close()
    return SceneForm(text, ref_bytes, ref_name, base_version, note)


def _check_drone_reference(scene: Scene, image: np.ndarray | None, kept: bool = False) -> None:
    """A drone's flights are registered to its reference frame: one with too little texture (sky,
    water, a black or blurred frame), or none that can be read, would fail every one of its jobs,
    later, one by one. ``kept``: the frame the camera already has, which a new scene document
    keeps (a fixed camera's picture, which only had to be shown, becoming a drone's)."""
    if scene.kind != "drone":
        return
    from detector.register import ReferenceRegistration

    try:
        if image is None:
            raise ValueError("cannot be read")
        ReferenceRegistration(tuple(scene.frame_size), image)
    except ValueError as err:
        if kept:
            raise ApiError(422, f"reference: the camera's current reference frame is kept by this drone scene, but "
                                f"{err}; send a sharp picture of the ground the zones are drawn on as 'reference' "
                                "with the scene", code="reference_unusable") from None
        raise ApiError(422, f"reference: {err} (a drone scene's frame: give a sharp picture of the ground "
                            "the zones are drawn on)", code="reference_unusable") from None


def _check_drone_scene(request: Request, scene: Scene, ref_path: str | None, sent: bool = False) -> None:
    """What a drone scene's jobs need beyond its document, checked when it is saved rather than
    found missing by each job: the reference frame it keeps (``ref_path``) must have texture (a
    frame ``sent`` with it is checked by ``_save_reference``), and it must not name files beside
    the scene, which the service never has (a job runs on a copy of the document alone)."""
    if scene.kind != "drone":
        return
    if scene.mosaic:
        raise _field_error("mosaic", "the service cannot analyse a flight along a road yet: the mosaic file the "
                                     "scene names is not uploaded with it; analyse such flights with "
                                     "`civicwatch analyze`", "service_unsupported")
    if sent:
        return
    if ref_path:
        image = cv2.imread(str(request.app.state.settings.data_dir / ref_path), cv2.IMREAD_COLOR)
        _check_drone_reference(scene, image, kept=True)
    elif scene.reference_image:
        raise _field_error("reference_image", f"the service does not read files named in the scene "
                                              f"({scene.reference_image!r}): send the picture as the form's "
                                              "'reference' image", "reference_not_sent")


def _save_reference(request: Request, cam_id: str, data: bytes, name: str, scene: Scene) -> tuple[str, list[CameraNotice]]:
    """Store the image under a name made from its content: a new reference never overwrites the
    one an older scene version (and its cases) was drawn on."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ApiError(415, "reference: not an image OpenCV can read (use JPEG or PNG)")
    _check_drone_reference(scene, image)
    settings = request.app.state.settings
    suffix = next((v for k, v in IMAGE_SUFFIX.items() if name.lower().endswith(k)), ".png")
    folder = settings.cameras_dir / cam_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"reference-{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    if not path.is_file():
        tmp = path.with_suffix(path.suffix + ".tmp")
        if suffix == ".png" and not name.lower().endswith(".png"):
            cv2.imwrite(str(tmp) + ".png", image)
            shutil.move(str(tmp) + ".png", tmp)
        else:
            tmp.write_bytes(data)
        tmp.replace(path)
    notices = []
    h, w = image.shape[:2]
    fw, fh = scene.frame_size
    if (w, h) != (fw, fh):
        notices.append(CameraNotice(code="reference_size", params={"width": w, "height": h, "frame_width": fw,
                                                                   "frame_height": fh},
                                    text=f"reference image is {w}x{h} but the scene's frame_size is {fw}x{fh}; "
                                         "zones are drawn in frame_size pixels"))
    return str(path.relative_to(settings.data_dir)), notices


def _save_edit(request: Request, db: Session, who: Principal, cam: Camera, text: str, scene: Scene,
               reference: tuple[bytes, str] | None, note: str | None, fields: list[str]) -> dict:
    """Add a version when the document or the reference changed (else answer ``changed: false``),
    audit it and commit."""
    notices: list[CameraNotice] = []
    ref_path = cam.reference_path
    _check_drone_scene(request, scene, ref_path, sent=reference is not None)
    if reference is not None:
        ref_path, notices = _save_reference(request, cam.id, reference[0], reference[1], scene)
    old = scenes.current(db, cam)
    same_doc = old is not None and old.sha256 == scenes.document_hash(text)
    if same_doc and ref_path == cam.reference_path:
        return _answer(cam, scene, False, notices)
    try:
        version = scenes.add_version(db, cam, text, scene, ref_path, who.actor, note)
    except scenes.VersionConflict as err:  # saved by someone else since this request read the camera
        raise _conflict(cam.id, err.latest) from None
    changed = [f for f in fields if f != "scene" or not same_doc] + (["reference"] if reference is not None else [])
    audit.record(db, request, who, "camera.update", "camera", cam.id, from_version=old.number if old else None,
                 to_version=version.number, sha256=version.sha256, changed=changed, note=note)
    _commit_version(db, cam)
    return _answer(cam, scene, True, notices)


@router.post("", status_code=201, response_model=CameraSaved, responses=responses(400, 409, 413, 415),
             openapi_extra=SCENE_FORM, **AS_BUILT)
async def create_camera(request: Request, db: Session = Depends(get_db), who: Principal = Depends(editors)) -> dict:
    form = await _read_form(request)
    scene = _validated(form.text or "")
    if db.get(Camera, scene.camera) is not None:
        raise ApiError(409, f"camera {scene.camera!r} already exists; use PUT /api/cameras/{scene.camera} to replace its scene",
                       camera_id=scene.camera)
    cam = Camera(id=scene.camera, kind=scene.kind, place=scene.place, timezone=scene.timezone, scene_yaml=form.text)
    notices: list[CameraNotice] = []
    _check_drone_scene(request, scene, None, sent=form.reference is not None)
    if form.reference is not None:
        cam.reference_path, notices = _save_reference(request, cam.id, form.reference, form.reference_name or "", scene)
    db.add(cam)
    db.flush()
    version = scenes.add_version(db, cam, form.text or "", scene, cam.reference_path, who.actor, form.note)
    audit.record(db, request, who, "camera.create", "camera", cam.id, reference=form.reference is not None,
                 to_version=version.number, sha256=version.sha256)
    _commit_version(db, cam)
    return _answer(cam, scene, True, notices)


@router.put("/{camera_id}", response_model=CameraSaved, responses=FORM_ERRORS, openapi_extra=SCENE_FORM, **AS_BUILT)
async def replace_camera(camera_id: CameraId, request: Request, db: Session = Depends(get_db),
                         who: Principal = Depends(editors)) -> dict:
    """Replace the scene document (and optionally the reference frame): a new scene version."""
    cam = _camera(db, camera_id)
    form = await _read_form(request)
    scene = _validated(form.text or "", camera_id)
    _check_base(cam, form.base_version)
    reference = (form.reference, form.reference_name or "") if form.reference is not None else None
    return _save_edit(request, db, who, cam, form.text or "", scene, reference, form.note, ["scene"])


class CameraEdit(ApiModel):
    """An edit of a camera: the whole scene document (YAML text, or the same as a JSON object, as
    a browser zone editor would send it), and/or the place and time zone (set inside the
    document). ``base_version`` refuses the edit if someone saved a newer version meanwhile;
    ``dry_run`` only validates (field errors, nothing saved)."""

    scene_yaml: str | None = Field(default=None, max_length=MAX_SCENE_BYTES)
    scene: dict[str, Any] | None = None
    place: str | None = Field(default=None, max_length=MAX_PLACE)
    timezone: str | None = Field(default=None, max_length=MAX_NAME)
    base_version: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    note: str | None = Field(default=None, max_length=500)
    dry_run: bool = False


@router.patch("/{camera_id}", response_model=CameraSaved | SceneCheck, responses=responses(404, 409), **AS_BUILT)
def edit_camera(camera_id: CameraId, body: CameraEdit, request: Request, db: Session = Depends(get_db),
                who: Principal = Depends(editors)) -> dict:
    cam = _camera(db, camera_id)
    if body.scene_yaml is not None and body.scene is not None:
        raise ApiError(422, "give the scene as scene_yaml (text) or as scene (an object), not both")
    fields = []
    if body.scene_yaml is not None:
        text, fields = body.scene_yaml, ["scene"]
    elif body.scene is not None:
        text, fields = yaml.safe_dump(body.scene, allow_unicode=True, sort_keys=False, default_flow_style=None), ["scene"]
    else:
        text = cam.scene_yaml
    # place / time zone: "" (or null) removes the field (no place; the default zone)
    changes = {k: (getattr(body, k) or None) for k in ("place", "timezone") if k in body.model_fields_set}
    if changes:
        text = scenes.with_fields(text, changes)
        fields += sorted(changes)
    if not fields:
        raise ApiError(422, "nothing to change: give scene_yaml, scene, place or timezone")
    scene = _validated(text, camera_id)
    _check_drone_scene(request, scene, cam.reference_path)
    if body.dry_run:
        return {"valid": True, "camera_id": cam.id, "scene_version": cam.scene_version, "document": text,
                "changed": scenes.document_hash(text) != scenes.document_hash(cam.scene_yaml),
                **scenes.scene_view(scene)}
    _check_base(cam, body.base_version)
    return _save_edit(request, db, who, cam, text, scene, None, body.note, fields)


@router.put("/{camera_id}/reference", response_model=CameraSaved, responses=FORM_ERRORS,
            openapi_extra=REFERENCE_FORM, **AS_BUILT)
async def replace_reference(camera_id: CameraId, request: Request, db: Session = Depends(get_db),
                            who: Principal = Depends(editors)) -> dict:
    """A new reference frame for the current scene: a new scene version (the old cases keep the
    frame their zones were drawn on)."""
    cam = _camera(db, camera_id)
    form = await _read_form(request, scene_required=False)
    if form.reference is None:
        raise ApiError(422, "reference: required (an image file)")
    scene = scene_of(cam)
    if scene is None:
        raise ApiError(409, f"camera {camera_id!r}: its scene no longer validates; send the scene with the image "
                            f"(PUT /api/cameras/{camera_id})", code="bad_scene")
    _check_base(cam, form.base_version)
    return _save_edit(request, db, who, cam, cam.scene_yaml, scene, (form.reference, form.reference_name or ""),
                      form.note, [])


@router.get("", response_model=list[CameraOut], **AS_BUILT)
def list_cameras(db: Session = Depends(get_db), _: Principal = Depends(readers),
                 retired: Literal["exclude", "include", "only"] = "exclude") -> list[dict]:
    """Cameras in service; ``retired=include`` adds the retired ones, ``retired=only`` lists just those."""
    q = select(Camera).order_by(Camera.id)
    if retired == "exclude":
        q = q.where(Camera.retired_at.is_(None))
    elif retired == "only":
        q = q.where(Camera.retired_at.is_not(None))
    return [camera_json(c, scene_of(c)) for c in db.scalars(q)]


@router.get("/{camera_id}", response_model=CameraOut, responses=responses(404), **AS_BUILT)
def get_camera(camera_id: CameraId, db: Session = Depends(get_db), _: Principal = Depends(readers)) -> dict:
    cam = _camera(db, camera_id)
    return camera_json(cam, scene_of(cam))


@router.get("/{camera_id}/reference", response_class=FileResponse, responses={**IMAGE, **responses(404, 416)})
def get_reference(camera_id: CameraId, request: Request, db: Session = Depends(get_db), _: Principal = Depends(readers)):
    cam = db.get(Camera, camera_id)
    if cam is None or not cam.reference_path:
        raise ApiError(404, f"camera {camera_id!r} has no reference image")
    return _reference_file(request, cam.reference_path, f"camera {camera_id!r}")


def _reference_file(request: Request, rel_path: str, what: str) -> FileResponse:
    data_dir = request.app.state.settings.data_dir
    path = data_dir / rel_path
    if not path.is_file() or not servable(path, data_dir):
        raise ApiError(404, f"{what}: reference image missing on disk")
    return FileResponse(path)


@router.get("/{camera_id}/versions", response_model=VersionList, responses=responses(404), **AS_BUILT)
def list_versions(camera_id: CameraId, db: Session = Depends(get_db), _: Principal = Depends(readers)) -> dict:
    """The scene's history, newest first (documents left out: fetch one version for its document)."""
    cam = _camera(db, camera_id)
    rows = db.scalars(select(SceneVersion).where(SceneVersion.camera_id == cam.id).order_by(SceneVersion.number.desc()))
    return {"camera_id": cam.id, "current": cam.scene_version, "items": [scenes.version_json(v, cam) for v in rows]}


@router.get("/{camera_id}/versions/{number}", response_model=SceneVersionOut, responses=responses(404), **AS_BUILT)
def get_version(camera_id: CameraId, number: VersionNumber, db: Session = Depends(get_db),
                _: Principal = Depends(readers)) -> dict:
    cam = _camera(db, camera_id)
    version = scenes.by_number(db, cam.id, number)
    if version is None:
        raise ApiError(404, f"camera {camera_id!r} has no scene version {number}")
    return scenes.version_json(version, cam, with_document=True)


@router.get("/{camera_id}/versions/{number}/reference", response_class=FileResponse,
            responses={**IMAGE, **responses(404, 416)})
def get_version_reference(camera_id: CameraId, number: VersionNumber, request: Request,
                          db: Session = Depends(get_db), _: Principal = Depends(readers)):
    version = scenes.by_number(db, camera_id, number)
    if version is None or not version.reference_path:
        raise ApiError(404, f"camera {camera_id!r} scene version {number} has no reference image")
    return _reference_file(request, version.reference_path, f"camera {camera_id!r} version {number}")


class RetireIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)


@router.post("/{camera_id}/retire", response_model=CameraOut, responses=responses(404, 409), **AS_BUILT)
def retire_camera(camera_id: CameraId, request: Request, body: RetireIn | None = None,
                  db: Session = Depends(get_db), who: Principal = Depends(editors)) -> dict:
    """Take a camera out of service: no new uploads or jobs; its cases stay reviewable."""
    cam = _camera(db, camera_id)
    if cam.retired_at is not None:
        raise ApiError(409, f"camera {camera_id!r} was already retired on {iso(cam.retired_at)}",
                       code="camera_retired")
    reason = (body.reason or "").strip() or None if body else None
    cam.retired_at, cam.retired_by, cam.retired_reason = utcnow(), who.actor, reason
    audit.record(db, request, who, "camera.retire", "camera", cam.id, reason=reason)
    db.commit()
    return camera_json(cam, scene_of(cam))


@router.post("/{camera_id}/unretire", response_model=CameraOut, responses=responses(404, 409), **AS_BUILT)
def unretire_camera(camera_id: CameraId, request: Request, db: Session = Depends(get_db),
                    who: Principal = Depends(editors)) -> dict:
    cam = _camera(db, camera_id)
    if cam.retired_at is None:
        raise ApiError(409, f"camera {camera_id!r} is not retired", code="camera_not_retired")
    was = {"retired_at": iso(cam.retired_at), "retired_by": cam.retired_by, "reason": cam.retired_reason}
    cam.retired_at, cam.retired_by, cam.retired_reason = None, None, None
    audit.record(db, request, who, "camera.unretire", "camera", cam.id, **was)
    db.commit()
    return camera_json(cam, scene_of(cam))


@router.delete("/{camera_id}", response_model=CameraDeleted, responses=responses(404, 409))
def delete_camera(camera_id: CameraId, request: Request, db: Session = Depends(get_db),
                  who: Principal = Depends(admins)) -> dict:
    """Remove a camera registered by mistake. One that has footage or cases is refused: its cases
    must stay reviewable with their scene, so such a camera is retired instead."""
    cam = _camera(db, camera_id)
    uploads = db.scalar(select(func.count()).select_from(Upload).where(Upload.camera_id == cam.id)) or 0
    cases = db.scalar(select(func.count()).select_from(Case).where(Case.camera_id == cam.id)) or 0
    # open sessions: a completed one (kept a while to answer a repeated completion) made an upload,
    # counted above; a refused one (kept to answer with its refusal) holds nothing and goes with the camera
    sessions = db.scalar(select(func.count()).select_from(UploadSession).where(
        UploadSession.camera_id == cam.id, UploadSession.upload_id.is_(None), UploadSession.refusal.is_(None))) or 0
    if uploads or cases or sessions:
        raise ApiError(409, f"camera {camera_id!r} has {uploads} upload(s), {cases} case(s) and {sessions} open upload "
                            "session(s): it cannot be deleted (its cases must stay reviewable); retire it instead",
                       code="camera_in_use", uploads=uploads, cases=cases, sessions=sessions)
    versions = db.scalars(select(SceneVersion).where(SceneVersion.camera_id == cam.id)).all()
    for v in versions:
        db.delete(v)
    for refused in db.scalars(select(UploadSession).where(UploadSession.camera_id == cam.id)):
        db.delete(refused)  # only refused ones are left (checked above); their rows name the camera
    db.flush()
    db.delete(cam)
    audit.record(db, request, who, "camera.delete", "camera", camera_id, versions=len(versions))
    db.commit()
    shutil.rmtree(request.app.state.settings.cameras_dir / camera_id, ignore_errors=True)
    return {"ok": True, "camera_id": camera_id}
