"""Two reviewers on one case: a decision lands only on the case its reviewer saw.

Every decision used to be a conditional UPDATE on the case's *state* only. A state can come back
(rejected, reopened, rejected again by someone else), so a request that had read the first
rejection undid or reopened the second one: a decision lost without anyone being told, and an
audit entry describing a decision that was no longer the case's. And the review page sent no
version with its decisions: a reviewer who had the case open while a colleague corrected its plate
(or decided it and undid it) approved or rejected a case they had never seen, silently. Every case
answer now carries ``version``; a decision sent with it is refused (409 ``case_changed``) when the
case changed since, and every decision, with or without it, is written only onto the very row it
read. Both backends (the ``env`` fixture).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from service.api import review_actions

from .helpers import PASSWORD, login
from .test_plate_search import ingest


def _hold_first_call(monkeypatch, module, name: str) -> tuple[threading.Event, threading.Event]:
    """``module.name``, on its first call only, runs and then waits until ``go_on`` is set;
    ``reached`` says it got there (the route has read the case)."""
    reached, go_on = threading.Event(), threading.Event()
    original, calls = getattr(module, name), []

    def held(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            reached.set()
            assert go_on.wait(20)
        return out

    monkeypatch.setattr(module, name, held)
    return reached, go_on


def _audit(env, case_id: str) -> list[str]:
    items = env.admin.get("/api/audit", params={"case": case_id, "action": "case.*", "limit": 100}).json()["items"]
    return [e["action"] for e in reversed(items)]


def test_an_undo_that_read_one_rejection_does_not_undo_another(env, cases, monkeypatch):
    """Rita rejects and presses Undo. While her undo is on its way, the admin reopens the case and
    rejects it again for a reason of their own. Rita's undo was checked against her rejection but
    written on the case's state alone: it wiped the admin's rejection (the case pending again, no
    one told) under an audit entry saying Rita undid her own."""
    case_id = cases[0]
    r = env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason_code": "duplicate"})
    assert r.status_code == 200, r.text
    reached, go_on = _hold_first_call(monkeypatch, review_actions, "undo_until")
    with ThreadPoolExecutor(1) as pool:
        undo = pool.submit(env.reviewer.post, f"/api/cases/{case_id}/undo")
        assert reached.wait(20)
        r = env.admin.post(f"/api/cases/{case_id}/reopen", json={"reason": "look again"})
        assert r.status_code == 200, r.text
        r = env.admin.post(f"/api/cases/{case_id}/reject", json={"reason_code": "not_violation",
                                                                   "reason": "the walker had green"})
        assert r.status_code == 200, r.text
        go_on.set()
        answer = undo.result(30)
    assert answer.status_code == 409, answer.text
    case = env.admin.get(f"/api/cases/{case_id}").json()
    assert (case["state"], case["reviewer"], case["reason_code"]) == ("rejected", "admin", "not_violation")
    assert _audit(env, case_id) == ["case.reject", "case.reopen", "case.reject"]


def test_a_reopen_that_read_one_rejection_does_not_reopen_another(env, cases, monkeypatch):
    """Rosa reopens Rita's rejection ("duplicate"); meanwhile Rita undoes it and rejects again as
    not a violation. Rosa's reopen went through on the state alone and its audit entry named the
    rejection Rosa had read, not the one it took back."""
    from service.api import cases as case_routes

    case_id = cases[0]
    r = env.admin.post("/api/users", json={"username": "rosa", "password": PASSWORD, "role": "reviewer"})
    assert r.status_code == 201, r.text
    rosa = login(env.app, "rosa", PASSWORD)
    assert env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason_code": "duplicate"}).status_code == 200
    # armed now: the next case read is Rosa's reopen (the only request on its way until it is held)
    reached, go_on = _hold_first_call(monkeypatch, case_routes, "_case")
    with ThreadPoolExecutor(1) as pool:
        reopen = pool.submit(rosa.post, f"/api/cases/{case_id}/reopen", json={"reason": "not a duplicate"})
        assert reached.wait(20)
        assert env.reviewer.post(f"/api/cases/{case_id}/undo").status_code == 200
        r = env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason_code": "not_violation"})
        assert r.status_code == 200, r.text
        go_on.set()
        answer = reopen.result(30)
    assert answer.status_code == 409, answer.text
    case = env.admin.get(f"/api/cases/{case_id}").json()
    assert (case["state"], case["reason_code"]) == ("rejected", "not_violation")


def test_a_decision_sent_with_the_version_shown_is_refused_once_someone_else_decided_meanwhile(env, cases):
    """Rita has the case open. The admin rejects it and undoes the rejection: the case is pending
    again, but not the case Rita opened. Her approval (sent with the version her page showed) is
    refused with ``case_changed`` naming the case as it is now; the page reloads it."""
    case_id = cases[0]
    seen = env.reviewer.get(f"/api/cases/{case_id}").json()
    assert seen["version"]
    assert env.admin.post(f"/api/cases/{case_id}/reject", json={"reason_code": "duplicate"}).status_code == 200
    assert env.admin.post(f"/api/cases/{case_id}/undo").status_code == 200
    for action, body in (("approve", {}), ("reject", {"reason_code": "not_identifiable"})):
        r = env.reviewer.post(f"/api/cases/{case_id}/{action}", json={**body, "version": seen["version"]})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "case_changed" and r.json()["state"] == "pending", r.text
    now = env.reviewer.get(f"/api/cases/{case_id}").json()
    assert now["state"] == "pending" and now["version"] != seen["version"]
    assert _audit(env, case_id) == ["case.reject", "case.undo"]
    # with the version of the case as it is, the decision goes through, and answers its new version
    r = env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason_code": "duplicate", "version": now["version"]})
    assert r.status_code == 200 and r.json()["version"] not in (now["version"], seen["version"]), r.text
    r = env.reviewer.post(f"/api/cases/{case_id}/reopen", json={"reason": "again", "version": now["version"]})
    assert r.status_code == 409 and r.json()["code"] == "case_changed", r.text


def test_a_plate_corrected_while_the_case_is_open_makes_a_decision_on_it_stale(env, camera):
    """Rita decides a car's case by the plate she sees (京A12345); the admin meanwhile corrects it
    to 京E54321. A rejection or approval made on the page's version is refused, not recorded
    against a plate its reviewer never saw."""
    (car,) = ingest(env, camera["camera_id"], [("京A12345", 1.0)])
    seen = env.reviewer.get(f"/api/cases/{car}").json()
    r = env.admin.post(f"/api/cases/{car}/plate", json={"text": "京E54321", "reason": "the 1 is an E"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] != seen["version"]
    r = env.reviewer.post(f"/api/cases/{car}/reject", json={"reason_code": "duplicate", "version": seen["version"]})
    assert r.status_code == 409 and r.json()["code"] == "case_changed", r.text
    assert env.reviewer.get(f"/api/cases/{car}").json()["state"] == "pending"


def test_bad_versions_are_refused_and_change_nothing(env, cases):
    case_id = cases[0]
    for version in ("x" * 65, 5, ["a"]):
        r = env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason_code": "duplicate", "version": version})
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    assert env.reviewer.get(f"/api/cases/{case_id}").json()["state"] == "pending"
    assert _audit(env, case_id) == []
