"""Review at volume: the queue pages through more than 50 cases with a true total, bulk decisions
(each audited per case), undo inside / outside its window, reopening a rejected case, queue
thumbnails. Cases beyond the two real ones are copies of a real case's row (same evidence files)."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np
import pytest

from service.db import session_scope
from service.models import Case, utcnow

from .test_cases import audit_actions


def clone_cases(env, template_id: str, n: int) -> list[str]:
    """``n`` more pending cases like ``template_id`` (created one millisecond apart, in order)."""
    ids = []
    with session_scope(env.app.state.session_factory) as db:
        src = db.get(Case, template_id)
        cols = {c.key: getattr(src, c.key) for c in Case.__table__.columns}
        base = utcnow()
        for i in range(n):
            row = Case(**{**cols, "id": f"{template_id}-copy{i:03d}", "created_at": base + timedelta(milliseconds=i + 1),
                          "updated_at": base})
            db.add(row)
            ids.append(row.id)
    return ids


def set_decided_at(env, case_id: str, seconds_ago: float) -> None:
    with session_scope(env.app.state.session_factory) as db:
        db.get(Case, case_id).decided_at = utcnow() - timedelta(seconds=seconds_ago)


def test_queue_pages_past_50_with_a_true_total(env, cases):
    extra = clone_cases(env, cases[0], 51)
    every = set(cases) | set(extra)
    assert len(every) == 53
    first = env.reviewer.get("/api/cases", params={"state": "pending"}).json()
    assert first["total"] == 53 and len(first["items"]) == 50 and first["limit"] == 50
    rest = env.reviewer.get("/api/cases", params={"state": "pending", "offset": 50}).json()
    assert rest["total"] == 53 and len(rest["items"]) == 3
    assert {c["id"] for c in first["items"] + rest["items"]} == every

    # the page's poll: only cases created since the newest one it has
    newest = first["items"][-1]["created_at"]
    since = env.reviewer.get("/api/cases", params={"state": "pending", "created_since": newest}).json()
    assert {c["id"] for c in since["items"]} == {first["items"][-1]["id"]} | {c["id"] for c in rest["items"]}
    assert env.reviewer.get("/api/cases", params={"created_since": "soon"}).status_code == 422

    # 50 decisions later the queue says 3, not 0
    r = env.reviewer.post("/api/cases/bulk", json={"ids": [c["id"] for c in first["items"]], "action": "reject",
                                                  "reason": "duplicate"})
    assert r.status_code == 200, r.text
    assert r.json()["done"] == 50 and r.json()["failed"] == 0
    left = env.reviewer.get("/api/cases", params={"state": "pending"}).json()
    assert left["total"] == 3 and {c["id"] for c in left["items"]} == {c["id"] for c in rest["items"]}


def test_bulk_decisions_are_audited_per_case(env, cases, fast_redaction):
    a, b = cases
    (c,) = clone_cases(env, b, 1)
    assert env.operator.post("/api/cases/bulk", json={"ids": [a], "action": "approve"}).status_code == 403
    assert env.anon.post("/api/cases/bulk", json={"ids": [a], "action": "approve"}).status_code == 401
    no_reason = env.reviewer.post("/api/cases/bulk", json={"ids": [a, b], "action": "reject", "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    assert env.reviewer.post("/api/cases/bulk", json={"ids": [], "action": "approve"}).status_code == 422
    assert env.reviewer.post("/api/cases/bulk", json={"ids": [a], "action": "publish"}).status_code == 422

    r = env.reviewer.post("/api/cases/bulk", json={"ids": [a, "no-such-case", b], "action": "approve"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["done"] == 2 and out["failed"] == 1
    by_id = {x["id"]: x for x in out["results"]}
    assert by_id[a]["ok"] and by_id[a]["state"] == "approved" and by_id[b]["state"] == "approved"
    # the code the single-case route answers with, for the page to translate
    assert by_id["no-such-case"] == {**by_id["no-such-case"], "ok": False, "status": 404, "code": "not_found"}

    # a case decided meanwhile is refused on its own; the rest go through
    r = env.reviewer.post("/api/cases/bulk", json={"ids": [a, c], "action": "reject", "reason": "not a violation"})
    res = {x["id"]: x for x in r.json()["results"]}
    assert res[a]["ok"] is False and res[a]["code"] == "invalid_transition" and res[a]["state"] == "approved"
    assert res[c]["ok"] is True and res[c]["state"] == "rejected"
    assert env.reviewer.get(f"/api/cases/{c}").json()["reason"] == "not a violation"

    assert audit_actions(env, a) == [("rita", "case.approve")]
    assert audit_actions(env, b) == [("rita", "case.approve")]
    assert audit_actions(env, c) == [("rita", "case.reject")]
    assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"]


def test_undo_inside_and_outside_the_window(env, cases, fast_redaction):
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{b}/reject", json={"reason": "shadow"}).status_code == 200
    detail = env.reviewer.get(f"/api/cases/{b}").json()
    assert detail["undo_until"] and detail["fps"] > 0
    # only the person who decided may undo it
    other = env.admin.post(f"/api/cases/{b}/undo")
    assert other.status_code == 403 and other.json()["code"] == "not_your_decision"
    r = env.reviewer.post(f"/api/cases/{b}/undo")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "pending" and r.json()["reason"] is None and r.json()["reviewer"] is None
    assert env.reviewer.get(f"/api/cases/{b}").json()["undo_until"] is None
    again = env.reviewer.post(f"/api/cases/{b}/undo")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    # an approval undone: pending again, on no screen; its prepared media are reused on re-approval
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    media = env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"]
    assert env.reviewer.post(f"/api/cases/{a}/undo").status_code == 200
    shown = env.reviewer.get(f"/api/cases/{a}").json()
    assert shown["state"] == "pending" and shown["reviewer"] is None and shown["decided_at"] is None
    assert env.display.get("/api/public/cases").json()["items"] == []
    assert env.display.get(f"/api/public/cases/{a}/media/video").status_code == 404

    # past the window (30 s by default) the undo is refused and nothing changes
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    set_decided_at(env, a, 31)
    late = env.reviewer.post(f"/api/cases/{a}/undo")
    assert late.status_code == 409 and late.json()["code"] == "undo_expired"
    assert env.reviewer.get(f"/api/cases/{a}").json()["state"] == "approved"
    assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"] == media
    set_decided_at(env, a, 25)
    assert env.reviewer.post(f"/api/cases/{a}/undo").status_code == 200

    assert audit_actions(env, b) == [("rita", "case.reject"), ("rita", "case.undo")]
    assert audit_actions(env, a) == [("rita", "case.approve"), ("rita", "case.undo"), ("rita", "case.approve"),
                                     ("rita", "case.undo")]
    entry = env.admin.get("/api/audit", params={"object_id": b, "action": "case.undo"}).json()["items"][0]
    assert entry["details"]["undone"] == "case.reject" and entry["details"]["previous_reason"] == "shadow"
    assert entry["details"]["from_state"] == "rejected"


def test_undo_window_is_configurable(tmp_path, cases, env):
    env.app.state.settings.undo_window_s = 0
    a, _ = cases
    assert env.reviewer.post(f"/api/cases/{a}/reject", json={"reason": "blur"}).status_code == 200
    r = env.reviewer.post(f"/api/cases/{a}/undo")
    assert r.status_code == 409 and r.json()["code"] == "undo_expired"


def test_reopen_a_rejected_case(env, cases):
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{a}/reopen", json={"reason": "look again"}).status_code == 409
    rejected = env.reviewer.post(f"/api/cases/{a}/reject", json={"reason_code": "not_identifiable", "reason": "hidden"})
    assert rejected.status_code == 200 and rejected.json()["reason_code"] == "not_identifiable"
    set_decided_at(env, a, 3600)  # long past undo: reopening is the way back
    no_reason = env.admin.post(f"/api/cases/{a}/reopen", json={})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    assert env.operator.post(f"/api/cases/{a}/reopen", json={"reason": "x"}).status_code == 403
    r = env.admin.post(f"/api/cases/{a}/reopen", json={"reason": "plate readable in the sheet"})
    assert r.status_code == 200 and r.json()["state"] == "pending" and r.json()["reason_code"] is None
    assert env.reviewer.get("/api/cases", params={"state": "pending"}).json()["total"] == 2
    history = env.reviewer.get(f"/api/cases/{a}").json()["history"]
    assert [(h["actor"], h["action"]) for h in history] == [("rita", "case.reject"), ("admin", "case.reopen")]
    assert history[1]["details"] == {"from_state": "rejected", "reason": "plate readable in the sheet",
                                     "rejected_by": "rita", "rejection_reason": "hidden",
                                     "rejection_reason_code": "not_identifiable"}
    assert env.reviewer.post(f"/api/cases/{a}/reject", json={"reason": "again"}).json()["state"] == "rejected"


def test_a_decision_that_must_say_why_sent_without_any_body_is_reason_required(env, cases, fast_redaction):
    """A script that posts reject, withdraw or reopen with no body at all got 422 ``invalid_input``
    "body: Field required", unlike the same request with ``{}`` (``reason_required``, which the
    pages translate). Now the same answer either way; nothing changes."""
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    assert env.reviewer.post(f"/api/cases/{b}/reject", json={"reason": "not identifiable"}).status_code == 200
    for url in (f"/api/cases/{a}/withdraw", f"/api/cases/{b}/reopen", f"/api/cases/{a}/reject"):
        r = env.reviewer.post(url)
        assert r.status_code == 422 and r.json()["code"] == "reason_required", (url, r.text)
        assert r.json()["detail"].startswith("reason: required when")
    assert env.reviewer.post("/api/cases/nope/reject").json()["code"] == "reason_required"
    assert [env.reviewer.get(f"/api/cases/{c}").json()["state"] for c in (a, b)] == ["approved", "rejected"]
    assert audit_actions(env, a) == [("rita", "case.approve")] and audit_actions(env, b) == [("rita", "case.reject")]


@pytest.mark.parametrize("kind", ["snapshot", "crop"])
def test_queue_thumbnails(env, cases, kind):
    a = cases[0]
    full = env.reviewer.get(f"/api/cases/{a}/evidence/{kind}")
    r = env.reviewer.get(f"/api/cases/{a}/evidence/{kind}", params={"w": 96})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(full.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == min(96, original.shape[1])
    assert len(r.content) < len(full.content) or original.shape[1] <= 96
    assert env.reviewer.get(f"/api/cases/{a}/evidence/{kind}", params={"w": 96}).content == r.content  # cached
    assert env.reviewer.get(f"/api/cases/{a}/evidence/{kind}", params={"w": 97}).status_code == 422
    assert env.reviewer.get(f"/api/cases/{a}/evidence/clip", params={"w": 96}).status_code == 422
    assert env.operator.get(f"/api/cases/{a}/evidence/{kind}", params={"w": 96}).status_code == 403
    views = env.admin.get("/api/audit", params={"object_id": a, "action": "evidence.view"}).json()["items"]
    assert {(v["details"]["kind"], v["details"].get("thumb")) for v in views} == {(kind, None), (kind, 96)}
