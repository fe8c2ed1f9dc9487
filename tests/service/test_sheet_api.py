"""The evidence sheet in the service: a viewable, audited evidence kind; its redacted copy is
published with the clip and the still, served to reviewers (never to screens: its captions name
internal ids) and vouched for by its hash; cases from before sheets simply have none."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm.attributes import flag_modified

from .helpers import sha256


def _views(env, case_id: str) -> list[str]:
    items = env.admin.get("/api/audit", params={"action": "evidence.view", "object_id": case_id}).json()["items"]
    return sorted(e["details"]["kind"] for e in items)


def test_sheet_is_viewable_and_each_view_audited(env, cases):
    a = cases[0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert detail["evidence"]["sheet"] == f"/api/cases/{a}/evidence/sheet"
    r = env.reviewer.get(detail["evidence"]["sheet"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, no-store"
    assert sha256(r.content) == detail["evidence_hashes"][f"cases/{detail['pipeline_id']}/sheet.jpg"]
    env.reviewer.get(detail["evidence"]["sheet"])  # again within the window: one entry
    assert _views(env, a) == ["sheet"]
    entry = env.admin.get("/api/audit", params={"action": "evidence.view", "object_id": a}).json()["items"][0]
    assert entry["actor"] == "rita"
    # screens and operators never see original evidence
    assert env.display.get(detail["evidence"]["sheet"]).status_code == 403
    assert env.operator.get(detail["evidence"]["sheet"]).status_code == 403


def test_plate_correctable_follows_the_plate_endpoint(env, cases):
    by_rule = {env.reviewer.get(f"/api/cases/{c}").json()["rule"]: c for c in cases}
    car = env.reviewer.get(f"/api/cases/{by_rule['wrong_way']}").json()
    walker = env.reviewer.get(f"/api/cases/{by_rule['red_light_pedestrian']}").json()
    assert car["plate_correctable"] is True and walker["plate_correctable"] is False
    body = {"text": "京A12345", "reason": "read from the clip"}
    assert env.reviewer.post(f"/api/cases/{walker['id']}/plate", json=body).status_code == 409
    assert env.reviewer.post(f"/api/cases/{car['id']}/plate", json=body).status_code == 200


def test_redacted_sheet_is_published_hashed_and_served(env, cases, fast_redaction):
    a = cases[0]
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    hashes = detail["published_hashes"]
    assert set(hashes) == {"published.mp4", "published.jpg", "published_sheet.jpg"}
    assert detail["published"]["sheet"] == f"/api/public/cases/{a}/media/sheet"
    # Approval confirms the offence; the screens get the case only once it is published.
    assert env.display.get("/api/public/cases", params={"screen": "lobby"}).json()["items"] == []
    assert env.reviewer.post(f"/api/cases/{a}/publish", json={"screens": ["lobby"]}).status_code == 200
    [item] = env.reviewer.get("/api/public/cases", params={"screen": "lobby"}).json()["items"]
    assert "/media/sheet?v=" in item["media"]["sheet"]
    sheet = env.reviewer.get(item["media"]["sheet"])
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/jpeg"
    assert sha256(sheet.content) == hashes["published_sheet.jpg"]
    original = env.reviewer.get(f"/api/cases/{a}/evidence/sheet").content
    assert sheet.content != original  # a new, redacted file, never the evidence itself
    image = env.display.get(item["media"]["image"])  # the still is still the still
    assert sha256(image.content) == hashes["published.jpg"]
    # the published sheet is checked before publishing like the other published files
    from service.models import Case

    with env.app.state.session_factory() as db:
        folder = db.get(Case, a).published_dir
    (env.data_dir / folder / "published_sheet.jpg").write_bytes(sheet.content[:-10] + b"tampered!!")
    # A published sheet that no longer matches its hash is not served, and the case leaves the screen.
    assert env.reviewer.get(item["media"]["sheet"]).status_code == 409
    assert env.display.get("/api/public/cases", params={"screen": "lobby"}).json()["items"] == []


def test_screens_never_get_the_sheet(env, cases, fast_redaction):
    """The published sheet's pictures are redacted but its title and captions are the evidence
    writer's: the pipeline case id (camera, rule, track number), "Subject: person #9", the camera
    id, the signal's name, the pipeline's explanation. A screen gets neither the link nor the file."""
    a = cases[0]
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    [item] = env.display.get("/api/public/cases").json()["items"]
    assert item["media"]["sheet"] is None and item["media"]["image"] and item["media"]["video"]
    url = item["media"]["image"].rsplit("/", 1)[0] + "/sheet"
    r = env.display.get(url)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json" and "internal ids" in r.json()["detail"]
    screen = TestClient(env.app)  # a paired screen (cookie) is a display token too
    assert screen.post("/api/public/pair", json={"token": env.display_token}).status_code == 200
    assert screen.get(url).status_code == 404
    # reviewers and admins still get it (the publish preview shows what was made)
    assert env.reviewer.get(url).status_code == 200 and env.admin.get(url).status_code == 200
    assert "/media/sheet?v=" in env.reviewer.get(f"/api/public/preview/{a}").json()["record"]["media"]["sheet"]


def test_a_case_from_before_sheets_shows_none(env, cases, fast_redaction):
    from service.models import Case

    a = cases[0]
    with env.app.state.session_factory() as db:
        row = db.get(Case, a)
        row.evidence = {k: v for k, v in row.evidence.items() if k != "sheet"}
        row.data = {k: v for k, v in row.data.items() if k != "sheet"}
        flag_modified(row, "evidence")
        flag_modified(row, "data")
        db.commit()
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert "sheet" not in detail["evidence"]
    assert env.reviewer.get(f"/api/cases/{a}/evidence/sheet").status_code == 404
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert set(detail["published_hashes"]) == {"published.mp4", "published.jpg"}
    assert "sheet" not in detail["published"]
    assert env.reviewer.post(f"/api/cases/{a}/publish", json={"screens": ["lobby"]}).status_code == 200
    [item] = env.display.get("/api/public/cases").json()["items"]
    assert item["media"].get("sheet") is None
    assert env.display.get(item["media"]["image"].rsplit("/", 1)[0] + "/sheet").status_code == 404
    assert env.display.get(item["media"]["image"]).status_code == 200
