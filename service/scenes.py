"""Scene versions: each change of a camera's scene document or reference frame adds a numbered,
never-edited version, and the camera points at the newest.

Why: a case is judged against zones and signals. If editing a camera overwrote its scene, an old
case would later be shown (and defended) with polygons that did not exist when it was found. Jobs
and cases therefore record the version they were analysed with (``scene_version_id``), and the
case view draws that version, whatever the camera holds today.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from detector.scene import Scene, SceneError, load_scene_text
from service.models import Camera, Case, SceneVersion, utcnow


class VersionConflict(Exception):
    """Someone saved the camera after this edit read it; ``latest`` is the version now stored."""

    def __init__(self, latest: int) -> None:
        super().__init__(f"scene version {latest} was saved meanwhile")
        self.latest = latest


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def parse(text: str, cam_id: str) -> Scene | None:
    """The document as a Scene, or None for one saved by an older, looser release (parsed once
    per distinct text: a Scene is frozen, so sharing it is safe)."""
    try:
        return load_scene_text(text, cam_id)
    except SceneError:
        return None


def timezone_of(text: str | None, cam_id: str) -> str | None:
    """The time zone the document sets (its default when it names none); None without a
    document or for one that no longer validates."""
    scene = parse(text, cam_id) if text else None
    return scene.timezone if scene is not None else None


def current(db: Session, cam: Camera) -> SceneVersion | None:
    if cam.scene_version is None:
        return None
    return db.scalar(select(SceneVersion).where(SceneVersion.camera_id == cam.id,
                                                SceneVersion.number == cam.scene_version))


def current_id(db: Session, cam: Camera) -> int | None:
    version = current(db, cam)
    return version.id if version is not None else None


def by_number(db: Session, cam_id: str, number: int) -> SceneVersion | None:
    return db.scalar(select(SceneVersion).where(SceneVersion.camera_id == cam_id, SceneVersion.number == number))


def add_version(db: Session, cam: Camera, text: str, scene: Scene, reference_path: str | None, actor: str,
                note: str | None = None) -> SceneVersion:
    """Record ``text`` (already validated as ``scene``) as the camera's next version and make it
    current; the caller commits.

    The new version follows the one ``cam`` was read at, not the newest in the table: an edit
    made from a read that another save overtook (a place-only change built on the document as it
    was, two editors saving at once) would otherwise become the next version on top and silently
    drop the other's change. Raises ``VersionConflict`` (the session rolled back) when that
    version is no longer the newest, or when a concurrent save took its number (unique key)."""
    read = cam.scene_version or 0
    latest = db.scalar(select(func.max(SceneVersion.number)).where(SceneVersion.camera_id == cam.id)) or 0
    if latest != read:
        db.rollback()
        raise VersionConflict(latest)
    now = utcnow()
    version = SceneVersion(camera_id=cam.id, number=read + 1, document=text, sha256=document_hash(text),
                           reference_path=reference_path, created_at=now, created_by=actor, note=note)
    db.add(version)
    cam.scene_yaml, cam.reference_path, cam.scene_version = text, reference_path, read + 1
    cam.kind, cam.place, cam.timezone, cam.updated_at = scene.kind, scene.place, scene.timezone, now
    try:
        db.flush()  # a concurrent save of the same number waits here for the other's commit, then fails
    except IntegrityError:
        db.rollback()
        raise VersionConflict(read + 1) from None
    return version


def with_fields(text: str, changes: dict[str, Any]) -> str:
    """The document with top-level fields set (None removes one): the page's place and time zone
    boxes. The YAML is written anew, so comments in the document do not survive such an edit."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        raise SceneError("scene: the current document is not a mapping; send the whole scene instead")
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)


def scene_view(scene: Scene | None) -> dict[str, Any]:
    """What pages draw: the frame, zones and signals (and the fields the summary line shows)."""
    if scene is None:
        return {}
    return {
        "kind": scene.kind, "place": scene.place, "place_names": scene.place_names, "timezone": scene.timezone,
        "frame_size": list(scene.frame_size),
        "zones": [z.model_dump(mode="json", exclude_none=True) for z in scene.zones],
        "signals": [s.model_dump(mode="json", exclude_none=True) for s in scene.signals],
    }


def version_json(version: SceneVersion, cam: Camera | None, with_document: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "camera_id": version.camera_id, "version": version.number, "sha256": version.sha256,
        "created_at": version.created_at.isoformat(), "created_by": version.created_by, "note": version.note,
        "current": cam is not None and cam.scene_version == version.number,
        "has_reference": version.reference_path is not None,
        "reference_url": (f"/api/cameras/{version.camera_id}/versions/{version.number}/reference"
                          if version.reference_path else None),
    }
    if with_document:
        out["document"] = version.document
        out.update(scene_view(parse(version.document, version.camera_id)))
    return out


def of_case(db: Session, case: Case) -> SceneVersion | None:
    return db.get(SceneVersion, case.scene_version_id) if case.scene_version_id is not None else None


def case_scene(version: SceneVersion | None, cam: Camera | None) -> dict[str, Any] | None:
    """The scene a case was judged by, as the review page draws it (None: the case predates
    versions and its camera had none to migrate)."""
    if version is None:
        return None
    return {**version_json(version, cam), **scene_view(parse(version.document, version.camera_id)),
            "current_version": cam.scene_version if cam is not None else None}
