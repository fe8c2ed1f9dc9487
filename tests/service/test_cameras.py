"""Registering scenes (cameras) with a reference frame."""

from __future__ import annotations

import av
import cv2

from .helpers import SCENE_YAML, SHORT_CLIP


def first_frame_jpeg(path) -> bytes:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24")
    ok, data = cv2.imencode(".jpg", frame)
    assert ok
    return data.tobytes()


def test_register_camera_with_reference(env, footage_dir):
    ref = first_frame_jpeg(footage_dir / SHORT_CLIP)
    r = env.reviewer.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("ref.jpg", ref, "image/jpeg")})
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["camera_id"] == "bj-overpass" and cam["frame_size"] == [960, 540] and cam["warnings"] == []
    assert [z["name"] for z in cam["zones"]] == ["near-lanes", "crossing"]
    assert cam["zones"][0]["polygon"][0] == [0, 200]
    assert cam["zones"][0]["direction"] == [[480, 250], [480, 530]] and cam["zones"][1]["signal"] == "ped"
    img = env.operator.get(cam["reference_url"])
    assert img.status_code == 200 and img.content == ref
    assert [c["camera_id"] for c in env.operator.get("/api/cameras").json()] == ["bj-overpass"]
    assert env.admin.get("/api/audit", params={"action": "camera.create"}).json()["items"][0]["actor"] == "rita"


def test_malformed_scene_is_422_with_scene_error(env):
    bad = SCENE_YAML.replace("[[0, 200], [960, 200], [960, 540], [0, 540]]", "[[0, 0], [1, 1]]")
    r = env.admin.post("/api/cameras", files={"scene": ("s.yaml", bad.encode(), "application/x-yaml")})
    assert r.status_code == 422
    assert "zones[0].polygon" in r.json()["detail"] and "3 points" in r.json()["detail"]
    assert r.json()["code"] == "bad_scene"
    r = env.admin.post("/api/cameras", data={"scene": "camera: [unclosed"})
    assert r.status_code == 422 and "YAML" in r.json()["detail"]
    assert env.admin.post("/api/cameras", data={"other": "x"}).status_code == 422
    assert env.admin.post("/api/cameras", json={"scene": SCENE_YAML}).status_code == 415
    assert env.admin.get("/api/cameras").json() == []


def test_replace_scene_and_refusals(env, camera):
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 409
    changed = SCENE_YAML.replace("min_distance: 15", "min_distance: 30")
    r = env.admin.put("/api/cameras/bj-overpass", data={"scene": changed})
    assert r.status_code == 200 and "min_distance: 30" in r.json()["scene_yaml"]
    other = SCENE_YAML.replace("camera: bj-overpass", "camera: elsewhere")
    assert env.admin.put("/api/cameras/bj-overpass", data={"scene": other}).status_code == 422
    assert env.admin.put("/api/cameras/nope", data={"scene": SCENE_YAML}).status_code == 404
    bad_img = env.admin.put("/api/cameras/bj-overpass", data={"scene": SCENE_YAML},
                            files={"reference": ("ref.jpg", b"not an image", "image/jpeg")})
    assert bad_img.status_code == 415
    assert env.operator.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 403
    assert env.display.get("/api/cameras").status_code == 403
    assert env.operator.get("/api/cameras/nope").status_code == 404
