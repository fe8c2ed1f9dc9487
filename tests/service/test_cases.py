"""Case review: transitions, audit, integrity blocking, range requests, export, public feed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from .helpers import sha256


def audit_actions(env, case_id: str) -> list[tuple[str, str]]:
    items = env.admin.get("/api/audit", params={"object_type": "case", "object_id": case_id}).json()["items"]
    return [(e["actor"], e["action"]) for e in reversed(items)]


def test_queue_filters_and_detail(env, cases):
    r = env.reviewer.get("/api/cases", params={"state": "pending"}).json()
    assert r["total"] == 2
    assert env.reviewer.get("/api/cases", params={"rule": "wrong_way"}).json()["total"] == 1
    assert env.reviewer.get("/api/cases", params={"camera": "bj-overpass"}).json()["total"] == 2
    assert env.reviewer.get("/api/cases", params={"camera": "other"}).json()["total"] == 0
    # the scene starts 2024-05-01 08:00 +08:00 = 00:00 UTC
    assert env.reviewer.get("/api/cases", params={"date_from": "2024-05-01", "date_to": "2024-05-01"}).json()["total"] == 2
    assert env.reviewer.get("/api/cases", params={"date_from": "2024-05-02"}).json()["total"] == 0
    assert env.reviewer.get("/api/cases", params={"limit": 1, "offset": 1}).json()["items"][0]["id"] in cases
    for bad in ({"state": "bogus"}, {"date_from": "yesterday"}, {"limit": "many"}):
        r = env.reviewer.get("/api/cases", params=bad)
        assert r.status_code == 422 and r.json()["detail"], bad
    detail = env.reviewer.get(f"/api/cases/{cases[0]}").json()
    assert detail["integrity"]["ok"] is True and detail["integrity"]["checked"] >= 5
    assert set(detail["evidence"]) == {"clip", "tracks", "snapshot", "crop", "sheet"}  # annotated: on demand
    assert detail["timezone"] == "Asia/Shanghai" and detail["place"] == "北京 立交桥 (test)"
    assert detail["start_time_local"].startswith("2024-05-01T08:00:0")
    assert detail["key_box"] and len(detail["path"]) > 3
    assert env.reviewer.get("/api/cases/nope").status_code == 404


def test_the_queue_filters_lists_are_read_with_spaces_after_their_commas(env, cases):
    """``camera=other, bj-overpass`` (as one types a list) matched no camera " bj-overpass": the
    parts of a comma-separated filter are trimmed, as the upload's camera is."""
    both = env.reviewer.get("/api/cases", params={"camera": "other, bj-overpass"}).json()
    assert both["total"] == 2
    assert env.reviewer.get("/api/cases", params={"state": "approved, pending"}).json()["total"] == 2
    assert env.reviewer.get("/api/cases", params={"rule": "red_light_pedestrian, wrong_way"}).json()["total"] >= 1
    assert env.reviewer.get("/api/cases", params={"state": "pending, bogus"}).status_code == 422


def test_a_plain_date_in_the_queue_filter_is_a_whole_local_day(env, cases):
    """A case at 01:00 Beijing time on 1 May (17:00 UTC on 30 April) is one of 1 May's: the date
    filter counts whole days in the installation's zone (``timezone``), as the audit log does; it
    counted UTC days, so a reviewer asking for 1 May missed the small hours' cases."""
    from datetime import datetime, timezone

    from sqlalchemy import update

    from service.models import Case

    with env.app.state.session_factory() as db:
        db.execute(update(Case).where(Case.id == cases[0]).values(
            start_time=datetime(2024, 4, 30, 17, 0, tzinfo=timezone.utc)))
        db.commit()
    day = {"date_from": "2024-05-01", "date_to": "2024-05-01"}
    assert {c["id"] for c in env.reviewer.get("/api/cases", params=day).json()["items"]} == set(cases)
    before = {"date_to": "2024-04-30"}
    assert env.reviewer.get("/api/cases", params=before).json()["total"] == 0
    # a time with an offset is an instant, as before
    assert env.reviewer.get("/api/cases", params={"date_to": "2024-05-01T00:59:00+08:00"}).json()["total"] == 0
    assert env.reviewer.get("/api/cases", params={"date_to": "2024-05-01T01:00:00+08:00"}).json()["total"] == 1
    r = env.reviewer.get("/api/cases", params={"date_from": "2024-05-02", "date_to": "2024-05-01"})
    assert r.status_code == 422 and "before date_from" in r.json()["detail"]


def test_queue_rows_carry_the_time_zone_of_the_judged_scene(env, cases):
    """The queue shows each case's time in the zone of the scene it was judged by, as its page
    does; without one in the row the page took the camera's zone of today."""
    r = env.admin.patch("/api/cameras/bj-overpass", json={"timezone": "Europe/London"})
    assert r.status_code == 200, r.text
    items = env.reviewer.get("/api/cases").json()["items"]
    assert sorted(c["id"] for c in items) == sorted(cases)
    assert {c["timezone"] for c in items} == {"Asia/Shanghai"}
    assert {env.reviewer.get(f"/api/cases/{c}").json()["timezone"] for c in cases} == {"Asia/Shanghai"}


def test_transitions_audit_and_public_feed(env, cases, fast_redaction):
    a, b = cases
    r = env.reviewer.post(f"/api/cases/{a}/approve")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["state"] == "approved" and approved["reviewer"] == "rita"
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert set(detail["published_hashes"]) == {"published.mp4", "published.jpg", "published_sheet.jpg"}
    # redacted files are new files with their own hashes, never the originals
    assert not set(detail["published_hashes"].values()) & set(detail["evidence_hashes"].values())

    no_reason = env.reviewer.post(f"/api/cases/{b}/reject", json={})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    assert env.reviewer.post(f"/api/cases/{b}/reject", json={"reason": "   "}).status_code == 422
    r = env.reviewer.post(f"/api/cases/{b}/reject", json={"reason": "shadow, not a person"})
    assert r.status_code == 200 and r.json()["state"] == "rejected" and r.json()["reason"] == "shadow, not a person"

    # invalid transitions are 409 and change nothing
    for path, body in ((f"{b}/approve", None), (f"{b}/publish", None), (f"{a}/approve", None), (f"{a}/reject", {"reason": "x"})):
        r = env.reviewer.post(f"/api/cases/{path}", json=body)
        assert r.status_code == 409 and r.json()["code"] == "invalid_transition", (path, r.text)
    assert env.reviewer.get(f"/api/cases/{b}").json()["state"] == "rejected"

    # approved is not published: the screen shows nothing yet, and no media by the case id
    assert env.display.get("/api/public/cases", params={"screen": "lobby"}).json()["items"] == []
    assert env.display.get(f"/api/public/cases/{a}/media/video").status_code == 404

    r = env.reviewer.post(f"/api/cases/{a}/publish")
    assert r.status_code == 200 and r.json()["state"] == "published"
    # the screen shows the published case only, with redacted media only
    answer = env.display.get("/api/public/cases", params={"screen": "lobby"}).json()
    feed = answer["items"]
    number = env.reviewer.get(f"/api/cases/{a}").json()["public_number"]
    assert [c["number"] for c in feed] == [number]
    # a poll with since looks SINCE_OVERLAP_S further back (a case committed in the gap is not missed),
    # so the case just shown comes again, keyed by the same number; nothing else does
    again = env.display.get("/api/public/cases", params={"since": answer["server_time"]}).json()["items"]
    assert [c["number"] for c in again] == [number]
    item = feed[0]
    assert item["timezone"] == "Asia/Shanghai" and item["place"] == "北京 立交桥 (test)" and item["rule"]
    video = env.display.get(item["media"]["video"])
    assert video.status_code == 200 and sha256(video.content) == detail["published_hashes"]["published.mp4"]
    image = env.display.get(item["media"]["image"])
    assert image.status_code == 200 and sha256(image.content) == detail["published_hashes"]["published.jpg"]
    assert env.display.get(f"/api/public/cases/{b}/media/video").status_code == 404
    assert env.display.get(f"/api/cases/{a}/evidence/clip").status_code == 403
    # a since past the server's clock (its clock was set back since it gave that server_time) is
    # read as now: the case published within the overlap comes again rather than nothing at all
    ahead = env.display.get("/api/public/cases", params={"since": "2999-01-01T00:00:00Z"}).json()["items"]
    assert [c["number"] for c in ahead] == [number]
    assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={}).status_code == 422
    r = env.admin.post(f"/api/cases/{a}/withdraw", json={"reason": "court order"})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    assert env.display.get("/api/public/cases").json()["items"] == []
    assert env.display.get(f"/api/public/cases/{a}/media/video").status_code == 404

    assert audit_actions(env, a) == [("rita", "case.approve"), ("rita", "case.publish"), ("admin", "case.withdraw")]
    assert audit_actions(env, b) == [("rita", "case.reject")]
    entry = env.admin.get("/api/audit", params={"object_id": b}).json()["items"][0]
    # a reason in words of its own (no code sent): stored with the code ``other``
    assert entry["details"] == {"from_state": "pending", "reason": "shadow, not a person", "reason_code": "other"}
    assert entry["ip"]
    history = env.reviewer.get(f"/api/cases/{a}").json()["history"]
    assert [h["action"] for h in history] == ["case.approve", "case.publish", "case.withdraw"]


def test_integrity_mismatch_blocks_approve_and_publish(env, cases, fast_redaction):
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    run_dir = env.data_dir / "jobs" / str(detail["job_id"]) / "run-1"
    clip = run_dir / "cases" / detail["pipeline_id"] / "clip.mp4"
    original = clip.read_bytes()
    clip.write_bytes(original[:-10] + b"tampered!!")

    r = env.reviewer.post(f"/api/cases/{a}/publish")
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
    assert any("clip.mp4" in p and "manifest" in p for p in r.json()["problems"])
    shown = env.reviewer.get(f"/api/cases/{a}").json()
    assert shown["integrity"]["ok"] is False and any("clip.mp4" in p for p in shown["integrity"]["problems"])
    assert shown["state"] == "approved"

    # editing the manifest along with the file does not help: the hashes taken at ingest disagree
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    rel = f"cases/{detail['pipeline_id']}/clip.mp4"
    for f in manifest["files"]:
        if f["path"] == rel:
            f["sha256"] = hashlib.sha256(clip.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    r = env.reviewer.post(f"/api/cases/{a}/publish")
    assert r.status_code == 409 and any("recorded at ingest" in p for p in r.json()["problems"])

    # a missing snapshot on the other case blocks its approval
    other = env.reviewer.get(f"/api/cases/{b}").json()
    (run_dir / "cases" / other["pipeline_id"] / "snapshot.jpg").unlink()
    r = env.reviewer.post(f"/api/cases/{b}/approve")
    assert r.status_code == 409 and any("snapshot.jpg: file missing" in p for p in r.json()["problems"])
    assert env.reviewer.get(f"/api/cases/{b}").json()["state"] == "pending"


def test_evidence_range_requests_and_view_audit(env, cases):
    a = cases[0]
    full = env.reviewer.get(f"/api/cases/{a}/evidence/clip")
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4"
    part = env.reviewer.get(f"/api/cases/{a}/evidence/clip", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-299/{len(full.content)}"
    assert part.content == full.content[100:300]
    tail = env.reviewer.get(f"/api/cases/{a}/evidence/tracks", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and len(tail.content) == 50
    bad = env.reviewer.get(f"/api/cases/{a}/evidence/clip", headers={"Range": f"bytes={10**9}-"})
    assert bad.status_code == 416
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert sha256(full.content) == detail["evidence_hashes"][f"cases/{detail['pipeline_id']}/clip.mp4"]
    assert env.reviewer.get(f"/api/cases/{a}/evidence/case").status_code == 404
    assert env.reviewer.get(f"/api/cases/{a}/evidence/../../etc").status_code == 404
    views = env.admin.get("/api/audit", params={"action": "evidence.view"}).json()["items"]
    # repeated range requests of one file by one person within the window: one entry per kind
    assert sorted(e["details"]["kind"] for e in views) == ["clip", "tracks"]
    assert all(e["actor"] == "rita" and e["object_id"] == a for e in views)


def test_export_zip_with_manifests(env, cases, fast_redaction):
    a, b = cases
    env.reviewer.post(f"/api/cases/{a}/approve")
    r = env.reviewer.post("/api/cases/export", json={"ids": [a, b]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(zf.namelist())
    assert "export.json" in names
    for cid in (a, b):
        for f in ("clip.mp4", "annotated.mp4", "snapshot.jpg", "crop.jpg", "case.json", "manifest.json", "record.json"):
            assert f"{cid}/{f}" in names, (cid, f)
        manifest = json.loads(zf.read(f"{cid}/manifest.json"))
        for arc, entry in manifest["files"].items():
            assert sha256(zf.read(f"{cid}/{arc}")) == entry["sha256"], arc
    assert f"{a}/published/published.mp4" in names and f"{b}/published/published.mp4" not in names
    assert json.loads(zf.read("export.json"))["cases"] == [a, b]
    assert env.reviewer.post("/api/cases/export", json={"ids": [a, "nope"]}).status_code == 404
    assert env.reviewer.post("/api/cases/export", json={"ids": []}).status_code == 422
    assert env.operator.post("/api/cases/export", json={"ids": [a]}).status_code == 403
    assert env.admin.get("/api/audit", params={"action": "case.export"}).json()["items"][0]["details"]["ids"] == [a, b]


def test_audit_export_csv(env, cases):
    env.reviewer.post(f"/api/cases/{cases[1]}/reject", json={"reason": "blurry"})
    r = env.admin.get("/api/audit/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()  # starts with a BOM (Excel): test_audit_log.py
    assert lines[0].startswith("id,at,actor,actor_role,action")
    assert any("case.reject" in line and cases[1] in line and "blurry" in line for line in lines)
    assert env.reviewer.get("/api/audit/export").status_code == 403
    assert env.reviewer.get("/api/audit").status_code == 403


def test_case_view_hashes_each_file_once_until_it_changes(env, cases, monkeypatch):
    """The detail view shows integrity from digests cached by size/mtime/inode; a changed file is
    read again at once, and decisions always read every byte."""
    import os

    from service import hash_cache, integrity

    reads: list[str] = []
    real = hash_cache.sha256_file
    monkeypatch.setattr(hash_cache, "sha256_file", lambda p, *a: reads.append(p.name) or real(p, *a))
    direct: list[str] = []
    real_direct = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda p, *a: direct.append(p.name) or real_direct(p, *a))
    a, _ = cases
    first = env.reviewer.get(f"/api/cases/{a}").json()
    assert first["integrity"]["ok"] is True
    n = len(reads)
    for _ in range(3):
        assert env.reviewer.get(f"/api/cases/{a}").json()["integrity"]["ok"] is True
    assert len(reads) == n and direct == []  # nothing read again while nothing changed
    run_dir = env.data_dir / "jobs" / str(first["job_id"]) / "run-1"
    snapshot = run_dir / "cases" / first["pipeline_id"] / "snapshot.jpg"
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0x01
    st = os.stat(snapshot)
    snapshot.write_bytes(bytes(data))
    os.utime(snapshot, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a different mtime, same size
    shown = env.reviewer.get(f"/api/cases/{a}").json()
    assert shown["integrity"]["ok"] is False and any("snapshot.jpg" in p for p in shown["integrity"]["problems"])
    r = env.reviewer.post(f"/api/cases/{a}/approve")
    assert r.status_code == 409 and direct  # the decision read the files itself
