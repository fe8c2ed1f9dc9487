"""Registering scenes (cameras) with a reference frame; editing them (scene versions), retiring them,
and the migration that gives an existing database its first versions."""

from __future__ import annotations

import hashlib

import av
import cv2
import numpy as np
import yaml

from .conftest import upload_clip
from .helpers import LONG_CLIP, SCENE_YAML, SHORT_CLIP


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
    assert cam["camera_id"] == "bj-overpass" and cam["frame_size"] == [960, 540] and cam["warnings"] == cam["notices"] == []
    assert [z["name"] for z in cam["zones"]] == ["near-lanes", "crossing"]
    assert cam["zones"][0]["polygon"][0] == [0, 200]
    assert cam["zones"][0]["direction"] == [[480, 250], [480, 530]] and cam["zones"][1]["signal"] == "ped"
    img = env.operator.get(cam["reference_url"])
    assert img.status_code == 200 and img.content == ref
    assert [c["camera_id"] for c in env.operator.get("/api/cameras").json()] == ["bj-overpass"]
    assert env.admin.get("/api/audit", params={"action": "camera.create"}).json()["items"][0]["actor"] == "rita"


def test_a_reference_of_another_size_is_kept_with_a_warning_a_page_can_translate(env, footage_dir):
    """The zones are drawn in frame_size pixels: a reference of another size is stored (it may be
    a scaled picture of the right view) but the answer warns, as a sentence and as a code with its
    values (``notices``), so a Chinese page can say it in Chinese."""
    frame = cv2.imdecode(np.frombuffer(first_frame_jpeg(footage_dir / SHORT_CLIP), np.uint8), cv2.IMREAD_COLOR)
    half = cv2.imencode(".png", cv2.resize(frame, (480, 270)))[1].tobytes()
    r = env.reviewer.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("half.png", half, "image/png")})
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["warnings"] == ["reference image is 480x270 but the scene's frame_size is 960x540; "
                               "zones are drawn in frame_size pixels"]
    assert cam["notices"] == [{"code": "reference_size", "text": cam["warnings"][0],
                               "params": {"width": 480, "height": 270, "frame_width": 960, "frame_height": 540}}]
    assert env.operator.get(cam["reference_url"]).content == half
    r = env.reviewer.put("/api/cameras/bj-overpass/reference", files={"reference": ("half.png", half, "image/png")})
    assert r.status_code == 200 and [n["code"] for n in r.json()["notices"]] == ["reference_size"], r.text


def test_a_drone_reference_without_texture_is_refused_and_nothing_is_stored(env, footage_dir):
    """Every flight of a drone camera is registered to its reference frame: a featureless one
    (a black or overexposed frame) would fail each of its jobs later. A fixed camera's reference
    is only shown beside the zones, so it may be any picture."""
    drone = SCENE_YAML.replace("camera: bj-overpass", "camera: bj-drone\nkind: drone")
    _, grey = cv2.imencode(".png", np.full((540, 960, 3), 128, np.uint8))
    r = env.admin.post("/api/cameras", data={"scene": drone}, files={"reference": ("grey.png", grey.tobytes(), "image/png")})
    assert r.status_code == 422 and "reference" in r.text and "texture" in r.text, r.text
    assert env.operator.get("/api/cameras").json() == []
    sharp = first_frame_jpeg(footage_dir / SHORT_CLIP)
    r = env.admin.post("/api/cameras", data={"scene": drone}, files={"reference": ("ref.jpg", sharp, "image/jpeg")})
    assert r.status_code == 201, r.text
    r = env.admin.put("/api/cameras/bj-drone/reference", files={"reference": ("grey.png", grey.tobytes(), "image/png")},
                      data={"base_version": "1"})
    assert r.status_code == 422 and env.operator.get("/api/cameras/bj-drone/reference").content == sharp
    r = env.admin.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("grey.png", grey.tobytes(), "image/png")})
    assert r.status_code == 201, r.text


def test_a_scene_turning_a_fixed_camera_into_a_drone_checks_the_reference_it_keeps(env, footage_dir):
    """A fixed camera's reference may be any picture; a new scene document that makes the camera a
    drone keeps it, and its flights would all be registered to it: a featureless one is refused
    on every edit route (and by the editor's check), with nothing stored, as when it is sent."""
    _, grey = cv2.imencode(".png", np.full((540, 960, 3), 128, np.uint8))
    r = env.admin.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("grey.png", grey.tobytes(), "image/png")})
    assert r.status_code == 201, r.text
    drone = SCENE_YAML.replace("camera: bj-overpass", "camera: bj-overpass\nkind: drone")
    refusals = [env.reviewer.put("/api/cameras/bj-overpass", data={"scene": drone, "base_version": "1"}),
                env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": drone, "base_version": 1}),
                env.reviewer.patch("/api/cameras/bj-overpass", json={"scene": {**yaml.safe_load(drone), "start_time": "2024-05-01T08:00:00+08:00"}}),
                env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": drone, "dry_run": True})]
    for r in refusals:
        assert r.status_code == 422 and r.json()["code"] == "reference_unusable", r.text
        assert "current reference frame" in r.json()["detail"] and "texture" in r.json()["detail"]
    cam = env.operator.get("/api/cameras/bj-overpass").json()
    assert cam["kind"] == "fixed" and cam["scene_version"] == 1 and cam["scene_yaml"] == SCENE_YAML
    assert versions(env) == [1] and env.operator.get(cam["reference_url"]).content == grey.tobytes()
    assert env.admin.get("/api/audit", params={"action": "camera.update"}).json()["items"] == []
    # with a sharp picture of the ground sent along, the same change is saved
    sharp = first_frame_jpeg(footage_dir / SHORT_CLIP)
    r = env.reviewer.put("/api/cameras/bj-overpass", data={"scene": drone}, files={"reference": ("ref.jpg", sharp, "image/jpeg")})
    assert r.status_code == 200 and r.json()["kind"] == "drone" and r.json()["scene_version"] == 2, r.text
    # and later edits of that drone scene keep (and re-check) the sharp frame
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"place": "北京 新桥"})
    assert r.status_code == 200 and r.json()["scene_version"] == 3, r.text


def test_a_drone_scene_naming_files_beside_it_is_refused_unless_the_frame_is_sent(env, footage_dir):
    """A job runs on a copy of the scene document alone: a ``reference_image`` the form does not
    carry, or a ``mosaic`` file, would be missing in every job of the camera (each failing with
    'is missing'). Refused when saved, naming the field, nothing stored; with the picture sent as
    the form's ``reference`` the scene's own path is not needed and the camera is registered."""
    named = SCENE_YAML.replace("camera: bj-overpass", "camera: bj-drone\nkind: drone\nreference_image: place.jpg")
    r = env.admin.post("/api/cameras", data={"scene": named})
    assert r.status_code == 422 and r.json()["code"] == "bad_scene", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["reference_image"] and "place.jpg" in r.json()["detail"]
    mosaic = SCENE_YAML.replace("camera: bj-overpass", "camera: bj-drone\nkind: drone\nmosaic: flight/mosaic.json")
    r = env.admin.post("/api/cameras", data={"scene": mosaic})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["mosaic"], r.text
    assert env.admin.get("/api/cameras", params={"retired": "include"}).json() == []
    assert not (env.data_dir / "cameras" / "bj-drone").exists()
    sharp = first_frame_jpeg(footage_dir / SHORT_CLIP)
    r = env.admin.post("/api/cameras", data={"scene": named}, files={"reference": ("place.jpg", sharp, "image/jpeg")})
    assert r.status_code == 201, r.text
    # a later edit to a mosaic flight is refused too, and the camera stays as it was
    r = env.admin.put("/api/cameras/bj-drone", data={"scene": mosaic})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mosaic", r.text
    assert versions(env, "bj-drone") == [1]


def _cut_form(*parts: tuple[str, str | None, bytes]) -> dict:
    """A multipart body whose last part stops half way, with no closing boundary (a transfer cut
    off), as keyword arguments for the test client."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--cut\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return {"content": body[: -2 - len(parts[-1][2]) // 2], "headers": {"content-type": "multipart/form-data; boundary=cut"}}


def test_a_camera_form_cut_off_in_transfer_is_400_and_saves_nothing(env, camera, footage_dir):
    """A body that stops inside its reference image was read as a form without one: the scene was
    saved (200) and the caller believed the new frame was in place. Now 400, nothing stored."""
    sharp = first_frame_jpeg(footage_dir / SHORT_CLIP)
    refs = env.data_dir / "cameras"
    before = sorted(refs.rglob("*")) if refs.exists() else []
    cut = [env.reviewer.put("/api/cameras/bj-overpass", **_cut_form(("scene", None, MOVED.encode()),
                                                                    ("reference", "ref.jpg", sharp))),
           env.reviewer.put("/api/cameras/bj-overpass/reference", **_cut_form(("reference", "ref.jpg", sharp))),
           env.reviewer.post("/api/cameras", **_cut_form(("scene", None, SCENE_YAML.replace("bj-overpass", "bj-new").encode()),
                                                         ("reference", "ref.jpg", sharp))),
           env.reviewer.put("/api/cameras/bj-overpass", **_cut_form(("scene", None, MOVED.encode())))]
    for r in cut:
        assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
        assert "closing boundary" in r.json()["detail"] and "nothing was saved" in r.json()["detail"]
    cam = env.operator.get("/api/cameras/bj-overpass").json()
    assert cam["scene_version"] == 1 and cam["scene_yaml"] == SCENE_YAML and cam["reference_url"] is None
    assert versions(env) == [1] and [c["camera_id"] for c in env.operator.get("/api/cameras").json()] == ["bj-overpass"]
    assert (sorted(refs.rglob("*")) if refs.exists() else []) == before
    assert env.admin.get("/api/audit", params={"action": "camera.*"}).json()["total"] == 1  # the fixture's create


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


# --- editing: every change of the scene is a new version; old cases keep theirs -------------------

MOVED = SCENE_YAML.replace("[[0, 430], [960, 430], [960, 520], [0, 520]]", "[[0, 400], [960, 400], [960, 500], [0, 500]]")


def versions(env, cam="bj-overpass") -> list[int]:
    return [v["version"] for v in env.operator.get(f"/api/cameras/{cam}/versions").json()["items"]]


def test_edits_make_versions_each_audited(env, camera):
    assert camera["scene_version"] == 1 and versions(env) == [1]
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"place": "北京 新桥", "timezone": "Asia/Urumqi",
                                                              "base_version": 1})
    assert r.status_code == 200, r.text
    cam = r.json()
    assert cam["changed"] and cam["scene_version"] == 2 and cam["place"] == "北京 新桥" and cam["timezone"] == "Asia/Urumqi"
    assert "timezone: Asia/Urumqi" in cam["scene_yaml"] and [z["name"] for z in cam["zones"]] == ["near-lanes", "crossing"]
    r = env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED, "note": "crossing repainted"})
    assert r.status_code == 200 and r.json()["scene_version"] == 3
    assert r.json()["zones"][1]["polygon"][0] == [0, 400] and r.json()["place"] == "北京 立交桥 (test)"
    same = env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED})
    assert same.status_code == 200 and same.json()["changed"] is False and same.json()["scene_version"] == 3
    assert versions(env) == [3, 2, 1]
    listed = env.operator.get("/api/cameras/bj-overpass/versions").json()
    assert listed["current"] == 3 and [v["created_by"] for v in listed["items"]] == ["admin", "rita", "admin"]
    assert listed["items"][0]["note"] == "crossing repainted" and [v["current"] for v in listed["items"]] == [True, False, False]
    first = env.operator.get("/api/cameras/bj-overpass/versions/1").json()
    assert first["document"] == SCENE_YAML and first["sha256"] == hashlib.sha256(SCENE_YAML.encode()).hexdigest()
    assert first["zones"][1]["polygon"][0] == [0, 430] and first["timezone"] == "Asia/Shanghai"
    assert env.operator.get("/api/cameras/bj-overpass/versions/9").status_code == 404
    log = env.admin.get("/api/audit", params={"action": "camera.update"}).json()["items"]
    steps = sorted((e["details"]["from_version"], e["details"]["to_version"], e["actor"]) for e in log)
    assert steps == [(1, 2, "rita"), (2, 3, "admin")]
    assert sorted(next(e for e in log if e["details"]["to_version"] == 2)["details"]["changed"]) == ["place", "timezone"]


def test_stale_edit_is_409_and_stores_nothing(env, camera):
    assert env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED, "base_version": 1}).status_code == 200
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"place": "elsewhere", "base_version": 1})
    assert r.status_code == 409 and r.json()["code"] == "scene_version_conflict" and r.json()["scene_version"] == 2
    assert env.admin.put("/api/cameras/bj-overpass", data={"scene": SCENE_YAML, "base_version": "1"}).status_code == 409
    assert versions(env) == [2, 1] and env.operator.get("/api/cameras/bj-overpass").json()["scene_yaml"] == MOVED
    assert env.admin.patch("/api/cameras/bj-overpass", json={}).status_code == 422  # nothing to change
    both = env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED, "scene": {"camera": "x"}})
    assert both.status_code == 422


def test_scene_errors_are_named_field_by_field_and_nothing_is_stored(env, camera):
    bad = (SCENE_YAML.replace("[[0, 200], [960, 200], [960, 540], [0, 540]]", "[[0, 0], [1, 1]]")
           .replace("frame_size: [960, 540]", "frame_size: [960, -5]").replace("window_s: 0.8", "window_s: 0"))
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": bad})
    assert r.status_code == 422 and r.json()["code"] == "bad_scene"
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {"zones[0].polygon", "zones[0].window_s", "frame_size"}
    assert errors["zones[0].polygon"]["loc"] == ["zones", 0, "polygon"] and "3 points" in errors["zones[0].polygon"]["msg"]
    assert errors["zones[0].window_s"]["type"] == "greater_than" and errors["zones[0].window_s"]["ctx"] == {"gt": 0.0}
    # a model-level check names its field too
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": SCENE_YAML.replace("signal: ped", "signal: nope")})
    assert [(e["field"], e["type"]) for e in r.json()["errors"]] == [("zones[1].signal", "value_error")]
    r = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": "camera: bj-overpass\nzones: [unclosed"})
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "yaml" and r.json()["errors"][0]["line"] == 2
    other = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene_yaml": SCENE_YAML.replace("camera: bj-overpass", "camera: x")})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "camera"
    tz = env.reviewer.patch("/api/cameras/bj-overpass", json={"timezone": "Mars/Olympus"})
    assert tz.status_code == 422 and tz.json()["errors"][0]["field"] == "timezone"
    assert versions(env) == [1] and env.operator.get("/api/cameras/bj-overpass").json()["scene_yaml"] == SCENE_YAML
    assert env.admin.get("/api/audit", params={"action": "camera.update"}).json()["items"] == []


def test_a_scene_document_as_json_validates_and_saves(env, camera):
    """The path a browser zone editor takes: the whole scene as an object, checked first with dry_run."""
    doc = yaml.safe_load(SCENE_YAML)
    doc["start_time"] = doc["start_time"].isoformat()  # JSON has no dates: the editor sends text
    doc["zones"][0]["polygon"] = [[0, 210], [960, 210], [960, 540], [0, 540]]
    doc["zones"].append({"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [100, 0], [100, 50], [0, 50]]})
    check = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene": doc, "dry_run": True})
    assert check.status_code == 200 and check.json()["valid"] and check.json()["changed"]
    assert [z["name"] for z in check.json()["zones"]] == ["near-lanes", "crossing", "kerb"] and versions(env) == [1]
    doc["zones"][2]["polygon"] = [[0, 0], [100, 0]]
    bad = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene": doc, "dry_run": True})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["zones[2].polygon"]
    doc["zones"][2]["polygon"] = [[0, 0], [100, 0], [100, 50]]
    saved = env.reviewer.patch("/api/cameras/bj-overpass", json={"scene": doc, "base_version": 1})
    assert saved.status_code == 200 and saved.json()["scene_version"] == 2 and len(saved.json()["zones"]) == 3


def test_reference_change_is_a_version_and_old_frames_stay(env, footage_dir):
    ref1 = first_frame_jpeg(footage_dir / SHORT_CLIP)
    r = env.admin.post("/api/cameras", data={"scene": SCENE_YAML}, files={"reference": ("ref.jpg", ref1, "image/jpeg")})
    assert r.status_code == 201
    _, png = cv2.imencode(".png", cv2.imdecode(np.frombuffer(ref1, np.uint8), cv2.IMREAD_COLOR)[::-1])
    r = env.reviewer.put("/api/cameras/bj-overpass/reference", files={"reference": ("flipped.png", png.tobytes(), "image/png")},
                         data={"base_version": "1"})
    assert r.status_code == 200 and r.json()["scene_version"] == 2 and r.json()["scene_yaml"] == SCENE_YAML
    assert env.operator.get("/api/cameras/bj-overpass/reference").content == png.tobytes()
    assert env.operator.get("/api/cameras/bj-overpass/versions/1/reference").content == ref1
    assert env.operator.get("/api/cameras/bj-overpass/versions/2/reference").content == png.tobytes()
    log = env.admin.get("/api/audit", params={"action": "camera.update"}).json()["items"]
    assert log[0]["details"]["changed"] == ["reference"]
    assert env.reviewer.put("/api/cameras/bj-overpass/reference", data={"note": "x"}).status_code == 422


def test_cases_and_jobs_keep_the_scene_they_were_judged_by(env, cases, footage_dir):
    job_id = env.reviewer.get(f"/api/cases/{cases[0]}").json()["job_id"]
    assert env.operator.get(f"/api/jobs/{job_id}").json()["scene_version"] == 1
    r = env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED, "timezone": "Asia/Urumqi"})
    assert r.status_code == 200 and r.json()["scene_version"] == 2
    case = env.reviewer.get(f"/api/cases/{cases[0]}").json()
    assert case["scene_version"] == 1 and case["scene"]["current_version"] == 2 and not case["scene"]["current"]
    assert case["scene"]["zones"][1]["polygon"][0] == [0, 430]  # the crossing as it was, not as it is now
    assert case["scene"]["frame_size"] == [960, 540] and case["timezone"] == "Asia/Shanghai"
    assert case["scene"]["sha256"] == hashlib.sha256(SCENE_YAML.encode()).hexdigest()
    assert env.operator.get(f"/api/jobs/{job_id}").json()["scene_version"] == 1
    # footage uploaded after the edit is analysed with the new version
    up = upload_clip(env.operator, footage_dir / LONG_CLIP)
    assert env.operator.get(f"/api/jobs/{up['job_id']}").json()["scene_version"] == 2


def test_retired_camera_takes_no_uploads_and_its_cases_stay(env, cases, footage_dir):
    assert env.operator.post("/api/cameras/bj-overpass/retire", json={}).status_code == 403
    r = env.reviewer.post("/api/cameras/bj-overpass/retire", json={"reason": "pole removed"})
    assert r.status_code == 200 and r.json()["retired"] and r.json()["retired_by"] == "rita"
    assert env.reviewer.post("/api/cameras/bj-overpass/retire", json={}).status_code == 409
    assert env.operator.get("/api/cameras").json() == []
    assert [c["camera_id"] for c in env.operator.get("/api/cameras", params={"retired": "include"}).json()] == ["bj-overpass"]
    assert [c["camera_id"] for c in env.operator.get("/api/cameras", params={"retired": "only"}).json()] == ["bj-overpass"]
    assert env.operator.get("/api/cameras/bj-overpass").json()["retired_reason"] == "pole removed"
    with open(footage_dir / LONG_CLIP, "rb") as fh:
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("long.mp4", fh, "video/mp4")})
    assert r.status_code == 409 and r.json()["code"] == "camera_retired" and "retired" in r.json()["detail"]
    body = {"camera": "bj-overpass", "filename": "x.mp4", "size": 10, "sha256": "1" * 64}
    assert env.operator.post("/api/uploads/sessions", json=body).json()["code"] == "camera_retired"
    assert env.operator.get("/api/uploads").json()[0]["camera_id"] == "bj-overpass"  # one upload: the first
    # a failed job of the camera cannot be run again while it is retired
    job_id = env.reviewer.get(f"/api/cases/{cases[0]}").json()["job_id"]
    _set_job_state(env, job_id, "failed")
    retry = env.operator.post(f"/api/jobs/{job_id}/retry")
    assert retry.status_code == 409 and retry.json()["code"] == "camera_retired"
    # its cases stay reviewable
    assert env.reviewer.get("/api/cases", params={"camera": "bj-overpass"}).json()["total"] == 2
    assert env.reviewer.post(f"/api/cases/{cases[1]}/reject", json={"reason": "not clear"}).status_code == 200
    # no hard delete of a camera with cases
    gone = env.admin.delete("/api/cameras/bj-overpass")
    assert gone.status_code == 409 and gone.json()["code"] == "camera_in_use" and gone.json()["cases"] == 2
    back = env.admin.post("/api/cameras/bj-overpass/unretire")
    assert back.status_code == 200 and back.json()["retired"] is False
    assert env.admin.post("/api/cameras/bj-overpass/unretire").status_code == 409
    upload_clip(env.operator, footage_dir / LONG_CLIP)
    actions = [e["action"] for e in env.admin.get("/api/audit", params={"object_type": "camera"}).json()["items"]]
    assert {"camera.retire", "camera.unretire"} <= set(actions)


def test_a_camera_without_footage_can_be_deleted_by_an_admin(env, camera):
    assert env.reviewer.delete("/api/cameras/bj-overpass").status_code == 403
    assert env.admin.patch("/api/cameras/bj-overpass", json={"place": "x"}).status_code == 200
    r = env.admin.delete("/api/cameras/bj-overpass")
    assert r.status_code == 200
    assert env.operator.get("/api/cameras/bj-overpass").status_code == 404
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).json()["scene_version"] == 1
    assert env.admin.get("/api/audit", params={"action": "camera.delete"}).json()["items"][0]["details"]["versions"] == 2


def _set_job_state(env, job_id: int, state: str) -> None:
    from service.db import session_scope
    from service.models import Job

    with session_scope(env.app.state.session_factory) as db:
        db.get(Job, job_id).state = state


# --- an existing database (no versions) migrates to version 1 made from the current scene ---------

def test_an_old_database_gets_version_1_for_its_cameras_jobs_and_cases(tmp_path, footage_dir, evidence_template):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, inspect

    from service.config import Settings
    from service.db import normalize_url
    from service.main import create_app

    from .conftest import seed_cases, start_env
    from .helpers import ADMIN_PASSWORD, downgrade_schema, login

    settings = Settings(data_dir=tmp_path / "var", admin_password=ADMIN_PASSWORD, runner="none", job_poll_s=0.05)
    app = create_app(settings)
    main, env = start_env(app, settings)
    ref = first_frame_jpeg(footage_dir / SHORT_CLIP)
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML},
                          files={"reference": ("ref.jpg", ref, "image/jpeg")}).status_code == 201
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    case_ids = seed_cases(env, up["job_id"], evidence_template)
    main.__exit__(None, None, None)

    # back to the schema of the release before scene versions (foreign keys off, as the
    # sqlite3 shell has them: nothing cascades while tables are rebuilt)
    engine = create_engine(normalize_url(settings.db_url))
    downgrade_schema(engine, "0004")
    assert "scene_versions" not in inspect(engine).get_table_names()
    assert "scene_version_id" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    engine.dispose()

    app = create_app(settings)  # starting the new release migrates
    with TestClient(app):
        admin = login(app, "admin", ADMIN_PASSWORD)
        cam = admin.get("/api/cameras/bj-overpass").json()
        assert cam["scene_version"] == 1 and cam["scene_yaml"] == SCENE_YAML
        (v1,) = admin.get("/api/cameras/bj-overpass/versions").json()["items"]
        assert v1["version"] == 1 and v1["created_by"] == "migration" and v1["has_reference"]
        assert admin.get(v1["reference_url"]).content == ref
        assert admin.get(f"/api/jobs/{up['job_id']}").json()["scene_version"] == 1
        for case_id in case_ids:
            case = admin.get(f"/api/cases/{case_id}").json()
            assert case["scene_version"] == 1 and [z["name"] for z in case["scene"]["zones"]] == ["near-lanes", "crossing"]
        assert admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": MOVED}).json()["scene_version"] == 2
        assert admin.get(f"/api/cases/{case_ids[0]}").json()["scene"]["zones"][1]["polygon"][0] == [0, 430]
