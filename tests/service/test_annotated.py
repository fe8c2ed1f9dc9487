"""The annotated clip made on demand: who may ask, what is audited, how it is vouched for, and that
case folders from before track files (analysis-time annotated.mp4, no tracks.json) keep working."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from detector.evidence.manifest import write_manifest
from detector.evidence.render import render_annotated

from .conftest import seed_cases, upload_clip
from .helpers import SHORT_CLIP, sha256


def _renders(env, case_id: str) -> list[dict]:
    items = env.admin.get("/api/audit", params={"action": "evidence.render", "object_id": case_id}).json()["items"]
    return list(reversed(items))


def _annotated_path(env, detail: dict) -> Path:
    return env.data_dir / "jobs" / str(detail["job_id"]) / "run-1" / "cases" / detail["pipeline_id"] / "annotated.mp4"


def test_render_on_demand_records_hash_and_reuses(env, cases):
    a = cases[0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert set(detail["evidence"]) == {"clip", "tracks", "snapshot", "crop", "sheet"}
    assert detail["annotated_render"] == f"/api/cases/{a}/annotated"
    assert detail["clip_offset_s"] is not None and detail["clip_start_s"] is not None
    tracks = env.reviewer.get(detail["evidence"]["tracks"])
    assert tracks.status_code == 200 and "instants" in tracks.json()
    target = _annotated_path(env, detail)
    assert not target.exists()

    before = env.reviewer.get(f"/api/cases/{a}/evidence/annotated")
    assert before.status_code == 404 and before.json()["code"] == "not_rendered"
    assert "not been rendered" in before.json()["detail"]

    assert env.anon.post(f"/api/cases/{a}/annotated").status_code == 401
    assert env.operator.post(f"/api/cases/{a}/annotated").status_code == 403
    assert env.display.post(f"/api/cases/{a}/annotated").status_code == 403
    assert not target.exists() and _renders(env, a) == []

    r = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["rendered"] is True and first["frames"] > 0
    assert first["url"] == f"/api/cases/{a}/evidence/annotated"
    video = env.reviewer.get(first["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert sha256(video.content) == first["sha256"] == sha256(target.read_bytes())

    after = env.reviewer.get(f"/api/cases/{a}").json()
    rel = f"cases/{detail['pipeline_id']}/annotated.mp4"
    assert after["evidence_hashes"][rel] == first["sha256"]
    assert "annotated" in after["evidence"]
    # rendered after the analysis: not in the run's manifest, and not tampering for that
    assert after["integrity"]["ok"] is True, after["integrity"]
    assert after["integrity"]["checked"] == detail["integrity"]["checked"] + 1

    entries = _renders(env, a)
    assert len(entries) == 1 and entries[0]["actor"] == "rita"
    details = entries[0]["details"]
    assert details["sha256"] == first["sha256"] and details["rendered"] is True and details["path"] == rel
    clip_rel = f"cases/{detail['pipeline_id']}/clip.mp4"
    assert details["sources"]["clip"] == detail["evidence_hashes"][clip_rel]

    mtime = target.stat().st_mtime_ns
    again = env.reviewer.post(f"/api/cases/{a}/annotated").json()
    assert again["rendered"] is False and again["frames"] == 0 and again["sha256"] == first["sha256"]
    assert target.stat().st_mtime_ns == mtime
    assert [e["details"]["rendered"] for e in _renders(env, a)] == [True, False]

    # the rendered file is held to the hash recorded when it was made
    target.write_bytes(target.read_bytes()[:-8] + b"edited!!")
    shown = env.reviewer.get(f"/api/cases/{a}").json()["integrity"]
    assert shown["ok"] is False and any("annotated.mp4" in p and "recorded" in p for p in shown["problems"])
    r = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"


def test_render_refuses_changed_sources(env, cases):
    a = cases[0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    tracks = _annotated_path(env, detail).with_name("tracks.json")
    data = json.loads(tracks.read_text())
    data["instants"] = []
    tracks.write_text(json.dumps(data))
    r = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed" and "tracks.json" in r.json()["detail"]
    assert not _annotated_path(env, detail).exists()
    assert env.reviewer.post("/api/cases/nope/annotated").status_code == 404


def test_export_renders_and_vouches_for_annotated(env, cases):
    r = env.reviewer.post("/api/cases/export", json={"ids": cases})
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    for cid in cases:
        data = zf.read(f"{cid}/annotated.mp4")
        entry = json.loads(zf.read(f"{cid}/manifest.json"))["files"]["annotated.mp4"]
        assert entry["made_after_analysis"] is True
        assert sha256(data) == entry["sha256"] == entry["recorded_sha256"]
        detail = env.reviewer.get(f"/api/cases/{cid}").json()
        assert detail["evidence_hashes"][entry["run_path"]] == sha256(data)
        assert detail["integrity"]["ok"] is True
        assert [e["details"].get("reason") for e in _renders(env, cid)] == ["export"]
    # a second export finds them made: nothing rendered, nothing new in the audit
    assert env.reviewer.post("/api/cases/export", json={"ids": cases}).status_code == 200
    assert all(len(_renders(env, cid)) == 1 for cid in cases)


@pytest.fixture(scope="module")
def legacy_template(tmp_path_factory, evidence_template, footage_dir, scene_file) -> Path:
    """A run folder as analyses before track files left it: annotated.mp4 written during the
    analysis and listed in the manifest, no tracks.json."""
    out = tmp_path_factory.mktemp("legacy") / "run"
    shutil.copytree(evidence_template, out)
    cases = json.loads((out / "cases.json").read_text())
    for case in cases:
        tracks_rel = case["evidence"].pop("tracks")
        made = render_annotated(out / Path(tracks_rel).parent)
        (out / tracks_rel).unlink()
        case["evidence"]["annotated"] = str(Path(tracks_rel).parent / "annotated.mp4")
        case["sha256"].pop("tracks")
        sheet_rel = case["evidence"].pop("sheet", None)  # sheets came later too
        if sheet_rel:
            (out / sheet_rel).unlink()
            case["sha256"].pop("sheet")
            case.pop("sheet", None)
        case["sha256"]["annotated"] = made.sha256
    (out / "cases.json").write_text(json.dumps(cases))
    for name in ("manifest.json", "manifest.sig", "manifest.json.sig"):
        (out / name).unlink(missing_ok=True)
    write_manifest(out, source=footage_dir / SHORT_CLIP, scene_path=scene_file, model_path=None,
                   software_version="legacy")
    return out


def test_legacy_case_keeps_its_annotated_clip(env, camera, footage_dir, legacy_template):
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    a = seed_cases(env, up["job_id"], legacy_template)[0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert set(detail["evidence"]) == {"clip", "annotated", "snapshot", "crop"}
    assert detail["annotated_render"] is None and detail["integrity"]["ok"] is True
    video = env.reviewer.get(detail["evidence"]["annotated"])
    rel = f"cases/{detail['pipeline_id']}/annotated.mp4"
    assert video.status_code == 200 and sha256(video.content) == detail["evidence_hashes"][rel]
    assert env.reviewer.get(f"/api/cases/{a}/evidence/tracks").status_code == 404
    r = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert r.status_code == 200 and r.json()["rendered"] is False
    assert r.json()["sha256"] == detail["evidence_hashes"][rel]
    # its manifest still vouches for it: an entry taken out of the manifest is reported, and an
    # edit is caught against both references
    path = _annotated_path(env, detail)
    manifest_path = path.parents[2] / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    original_manifest = manifest_path.read_text()
    manifest["files"] = [f for f in manifest["files"] if f["path"] != rel]
    manifest_path.write_text(json.dumps(manifest))
    problems = env.reviewer.get(f"/api/cases/{a}").json()["integrity"]["problems"]
    assert problems == [f"{rel}: not listed in manifest.json"]
    manifest_path.write_text(original_manifest)
    path.write_bytes(path.read_bytes()[:-8] + b"edited!!")
    problems = env.reviewer.get(f"/api/cases/{a}").json()["integrity"]["problems"]
    assert any("annotated.mp4: SHA-256 differs from manifest.json" in p for p in problems)
    assert env.reviewer.post(f"/api/cases/{a}/annotated").status_code == 409
