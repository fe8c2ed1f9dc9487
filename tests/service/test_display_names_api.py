"""Display names through the API: a scene's bilingual zone labels and place reach the case list,
the case view, the job's counts per zone and the public record (never the zone key there); the
case says where its clock came from; integrity problems carry codes a page can translate.
Scenes without names answer as before (no names: the page shows what it showed)."""

from __future__ import annotations

import json

from sqlalchemy.orm.attributes import flag_modified

from .conftest import seed_cases, upload_clip
from .helpers import SCENE_YAML, SHORT_CLIP

NAMED_SCENE = SCENE_YAML.replace(
    "place: 北京 立交桥 (test)", "place: {zh-CN: 北京立交桥（测试）, en: Beijing overpass (test)}"
).replace(
    "  - name: near-lanes\n", "  - name: near-lanes\n    label: {zh-CN: 近侧车道, en: near lanes}\n"
).replace(
    "  - name: crossing\n", "  - name: crossing\n    label: 人行横道北口\n"
)
NEAR = {"zh-CN": "近侧车道", "en": "near lanes"}
CROSSING = {"zh-CN": "人行横道北口", "en": "人行横道北口"}  # one text: the same in both languages
PLACE = {"zh-CN": "北京立交桥（测试）", "en": "Beijing overpass (test)"}


def _camera(env, scene: str) -> None:
    r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", scene.encode(), "application/x-yaml")})
    assert r.status_code == 201, r.text


def _by_zone(env, ids: list[str]) -> dict[str, dict]:
    return {d["zone"]: d for d in (env.reviewer.get(f"/api/cases/{i}").json() for i in ids)}


def test_named_scene_names_reach_list_detail_and_jobs(env, footage_dir, evidence_template):
    _camera(env, NAMED_SCENE)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    ids = seed_cases(env, up["job_id"], evidence_template)

    listed = {c["zone"]: c["zone_names"] for c in env.reviewer.get("/api/cases").json()["items"]}
    assert listed == {"near-lanes": NEAR, "crossing": CROSSING}

    cases = _by_zone(env, ids)
    lane = cases["near-lanes"]
    assert lane["zone_names"] == NEAR and lane["place_names"] == PLACE
    assert lane["place"] == PLACE["zh-CN"]  # the single text, as stored with the camera and the upload
    assert lane["zone_labels"] == {"near-lanes": NEAR, "crossing": CROSSING}
    assert cases["crossing"]["zone_names"] == CROSSING
    # where the wall-clock time came from: this run's cases used the scene's start_time
    assert lane["clock"]["source"] == "scene"

    # the job's counts per zone come with the counted zones' names
    from service.db import session_scope
    from service.models import Job

    with session_scope(env.app.state.session_factory) as db:
        job = db.get(Job, up["job_id"])
        job.seen = {"frames_decoded": 30, "duration_s": 2.0, "tracks": {"car": 1, "person": 1},
                    "tracks_per_zone": {"near-lanes": 1, "crossing": 1, "gone-zone": 2}}
        flag_modified(job, "seen")
    job = env.operator.get(f"/api/jobs/{up['job_id']}").json()
    assert job["zone_names"] == {"near-lanes": NEAR, "crossing": CROSSING}  # an unknown zone has none


def test_a_case_keeps_the_names_of_the_scene_it_was_judged_by(env, footage_dir, evidence_template):
    _camera(env, NAMED_SCENE)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    ids = seed_cases(env, up["job_id"], evidence_template)
    renamed = NAMED_SCENE.replace("{zh-CN: 近侧车道, en: near lanes}", "{zh-CN: 改名车道, en: renamed lanes}")
    r = env.admin.put("/api/cameras/bj-overpass", files={"scene": ("scene.yaml", renamed.encode(), "application/x-yaml")})
    assert r.status_code == 200, r.text
    assert _by_zone(env, ids)["near-lanes"]["zone_names"] == NEAR  # judged by version 1
    listed = {c["zone"]: c["zone_names"] for c in env.reviewer.get("/api/cases").json()["items"]}
    assert listed["near-lanes"] == NEAR
    # the next upload is judged by the new version, and named by it
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        data = fh.read() + b"\0"  # another file (the same footage, one byte longer)
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("again.mp4", data, "video/mp4")})
    assert r.status_code == 201, r.text
    newer = seed_cases(env, r.json()["job_id"], evidence_template)
    assert _by_zone(env, newer)["near-lanes"]["zone_names"] == {"zh-CN": "改名车道", "en": "renamed lanes"}


def test_a_typed_place_is_shown_as_typed(env, footage_dir, evidence_template):
    _camera(env, NAMED_SCENE)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP, place="西直门桥下")
    case = env.reviewer.get(f"/api/cases/{seed_cases(env, up['job_id'], evidence_template)[0]}").json()
    assert case["place"] == "西直门桥下" and case["place_names"] is None
    assert case["zone_names"] in (NEAR, CROSSING)  # the zone keeps its name


def test_scene_without_names_answers_as_before(env, cases):
    items = env.reviewer.get("/api/cases").json()["items"]
    assert [c["zone_names"] for c in items] == [None, None]
    detail = env.reviewer.get(f"/api/cases/{cases[0]}").json()
    assert detail["zone_names"] is None and detail["place_names"] is None and detail["zone_labels"] == {}
    assert detail["place"] == "北京 立交桥 (test)"


def test_public_record_names_the_zone_never_its_key(env, footage_dir, evidence_template, fast_redaction):
    _camera(env, NAMED_SCENE)
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    lane = _by_zone(env, seed_cases(env, up["job_id"], evidence_template))["near-lanes"]["id"]
    assert env.reviewer.post(f"/api/cases/{lane}/approve").status_code == 200
    record = env.reviewer.get(f"/api/public/preview/{lane}").json()["record"]
    assert record["zone_names"] == NEAR and record["place_names"] == PLACE
    assert env.reviewer.post(f"/api/cases/{lane}/publish").status_code == 200
    (shown,) = env.display.get("/api/public/cases").json()["items"]
    assert shown["zone_names"] == NEAR and shown["place_names"] == PLACE
    public = json.dumps({k: v for k, v in shown.items() if k != "media"}, ensure_ascii=False)
    assert "near-lanes" not in public and lane not in public


def test_integrity_problems_carry_codes(env, cases):
    detail = env.reviewer.get(f"/api/cases/{cases[0]}").json()
    assert detail["integrity"]["items"] == []
    run = env.data_dir / f"jobs/{detail['job_id']}/run-1"
    snapshot = next(run.glob("cases/*/snapshot.jpg"))
    case_of_snapshot = snapshot.parent.name
    snapshot.write_bytes(snapshot.read_bytes() + b"tampered")
    crop = snapshot.parent / "crop.jpg"
    crop.unlink()
    hit = next(i for i in cases if env.reviewer.get(f"/api/cases/{i}").json()["pipeline_id"] == case_of_snapshot)
    integ = env.reviewer.get(f"/api/cases/{hit}").json()["integrity"]
    assert integ["ok"] is False
    items = {(i["file"].rsplit("/", 1)[-1], i["code"]) for i in integ["items"]}
    assert ("snapshot.jpg", "differs_from_manifest") in items and ("snapshot.jpg", "differs_from_ingest") in items
    assert ("crop.jpg", "file_missing") in items
    assert [i["text"] for i in integ["items"]] == integ["problems"]  # the sentences stay for API clients
