"""The names people read for a case's zone and place, in every page language, from its scene.

Scenes key their zones by ``name`` (``crossing_n``): rules, cases and counts refer to it, but a
reviewer or a passer-by reads the zone's ``label`` and the scene's ``place``, each given in one
text or per language (``detector.scene.display_names``). The API hands pages both languages
(``{"zh-CN": ..., "en": ...}``) and the page picks its own, so a Chinese page never falls back to
a key or an English text the scene has a Chinese name for.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from detector.scene import LANGUAGES, Scene, SceneError, load_scene_text, pick_name
from service.models import Camera, SceneVersion

Names = dict[str, str]


class _CaseLike(Protocol):
    id: str
    scene_version_id: int | None
    camera_id: str


def judged_documents(db: Session, cases: Iterable[_CaseLike]) -> dict[str, str | None]:
    """Case id -> the scene document it was judged by: its scene version, else (a case from before
    versions) its camera's current scene. Names come from there, like the zones the page draws."""
    rows = [(c.id, c.scene_version_id, c.camera_id) for c in cases]  # the caller has read them already
    if not rows:
        return {}
    versions = {v for _, v, _ in rows if v is not None}
    cameras = {cam for _, v, cam in rows if v is None}
    by_version = dict(db.execute(select(SceneVersion.id, SceneVersion.document).where(SceneVersion.id.in_(versions))).all()) \
        if versions else {}
    by_camera = dict(db.execute(select(Camera.id, Camera.scene_yaml).where(Camera.id.in_(cameras))).all()) if cameras else {}
    return {cid: by_version.get(v) if v is not None else by_camera.get(cam) for cid, v, cam in rows}


@lru_cache(maxsize=256)
def _scene(document: str) -> Scene | None:
    """The scene document parsed once per distinct text (lists ask for it on every row)."""
    try:
        return load_scene_text(document, "scene")
    except SceneError:
        return None  # saved by an older, looser release: no names, keys as before


def _every_language(names: Names | None) -> Names | None:
    if not names:
        return None
    return {lang: pick_name(names, lang) for lang in LANGUAGES}


def zone_names(document: str | None, zone: str | None) -> Names | None:
    """Zone ``zone``'s display name per language, None when the scene gives it none."""
    scene = _scene(document) if document and zone else None
    if scene is None:
        return None
    found = next((z for z in scene.zones if z.name == zone), None)
    return _every_language(found.label) if found is not None else None


def zone_name_map(document: str | None, zones: list[str]) -> dict[str, Names]:
    """Display names of the labelled ones among ``zones`` (a job's counts per zone)."""
    out = {z: zone_names(document, z) for z in zones}
    return {z: n for z, n in out.items() if n}


def scene_zone_names(document: str | None) -> dict[str, Names]:
    """Every labelled zone of the scene: key -> names per language (drawings of all zones)."""
    scene = _scene(document) if document else None
    if scene is None:
        return {}
    return {z.name: _every_language(z.label) for z in scene.zones if z.label}


def place_names(document: str | None, shown_place: str | None) -> Names | None:
    """The scene's place per language when the place shown is the scene's own (an upload copies
    it unless the operator typed another; a typed place is shown as typed: None here)."""
    scene = _scene(document) if document else None
    if scene is None or not scene.place_names:
        return None
    if shown_place and shown_place not in (scene.place, *scene.place_names.values()):
        return None
    return _every_language(scene.place_names)


def case_names(document: str | None, zone: str | None, shown_place: str | None) -> dict[str, Names | None]:
    """``zone_names`` and ``place_names`` for one case record."""
    return {"zone_names": zone_names(document, zone), "place_names": place_names(document, shown_place)}
