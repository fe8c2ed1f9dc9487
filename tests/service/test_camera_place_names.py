"""A camera whose scene names its place per language answers those names beside the primary text
(list, one camera, a scene check and a version), so the camera pages show the place in the reader's
language instead of always the scene's first one."""

from __future__ import annotations

from .helpers import SCENE_YAML

NAMED = SCENE_YAML.replace("place: 北京 立交桥 (test)", "place: {zh-CN: 北京 立交桥, en: Beijing overpass}")
NAMES = {"zh-CN": "北京 立交桥", "en": "Beijing overpass"}


def test_cameras_answer_their_place_per_language(env) -> None:
    r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", NAMED.encode(), "application/x-yaml")})
    assert r.status_code == 201, r.text
    assert r.json()["place_names"] == NAMES and r.json()["place"] == "北京 立交桥"
    assert [c["place_names"] for c in env.reviewer.get("/api/cameras").json()] == [NAMES]
    assert env.operator.get("/api/cameras/bj-overpass").json()["place_names"] == NAMES
    assert env.reviewer.get("/api/cameras/bj-overpass/versions/1").json()["place_names"] == NAMES
    check = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": NAMED, "dry_run": True})
    assert check.status_code == 200 and check.json()["place_names"] == NAMES, check.text


def test_a_single_text_place_has_no_names(env, camera) -> None:
    assert camera["place"] == "北京 立交桥 (test)" and camera["place_names"] is None
