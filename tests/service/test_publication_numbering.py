"""A public number exists only for a case that was published.

Publishing gave the case its number and committed it, and only then moved the case to
``published`` (a conditional UPDATE on the row as read). A withdrawal, an undo or any change of
the case that won the race at that last step refused the publication (409) but left the number on
the case: a case never shown under it then held it, a withdrawn one was listed under it in the
screens' feed (``withdrawn``) and in their notices, and the day's sequence had a number no screen
ever showed. The number now goes in with the state change, in one transaction. Both backends (the
``env`` fixture).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import service.api.cases as case_routes
import service.case_number as case_number

from .test_decision_versions import _hold_first_call
from .test_publication import _approve


def _number(env, case_id: str) -> str | None:
    return env.admin.get(f"/api/cases/{case_id}").json()["public_number"]


def _publish_while(env, case_id: str, monkeypatch, meanwhile, module=case_routes, name: str = "check_published"):
    """Rita publishes ``case_id``; once her request has checked the case (held at ``module.name``),
    ``meanwhile()`` runs, then her request goes on. Returns her answer."""
    reached, go_on = _hold_first_call(monkeypatch, module, name)
    with ThreadPoolExecutor(1) as pool:
        publishing = pool.submit(env.reviewer.post, f"/api/cases/{case_id}/publish")
        assert reached.wait(20)
        try:
            meanwhile()
        finally:
            go_on.set()
        answer = publishing.result(30)
    monkeypatch.undo()
    return answer


def test_a_withdrawal_that_wins_the_race_leaves_no_number(env, cases, fast_redaction, monkeypatch):
    """The admin withdraws an approved case while Rita's publication of it is on its way. Rita is
    refused; the case was never on a screen, so it has no number, no screen is told to take one
    off, and the day's first number goes to the next case published."""
    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    first = env.display.get("/api/public/cases").json()

    def withdraw() -> None:
        r = env.admin.post(f"/api/cases/{a}/withdraw", json={"reason": "wrong person"})
        assert r.status_code == 200, r.text

    answer = _publish_while(env, a, monkeypatch, withdraw)
    assert answer.status_code == 409, answer.text
    assert env.admin.get(f"/api/cases/{a}").json()["state"] == "withdrawn"
    assert _number(env, a) is None
    news = env.reviewer.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["withdrawn"] == [] and news["items"] == []
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200
    assert _number(env, b).endswith("-0001")  # no gap where the refused publication's number was


def test_an_undo_that_wins_the_race_leaves_no_number(env, cases, fast_redaction, monkeypatch):
    """Rita publishes and, before it lands, undoes her approval (another tab). The case is pending
    again without a number; approved and published later, it takes the day's first number."""
    a, _ = cases
    _approve(env, a)

    def undo() -> None:
        r = env.reviewer.post(f"/api/cases/{a}/undo")
        assert r.status_code == 200, r.text

    answer = _publish_while(env, a, monkeypatch, undo)
    assert answer.status_code == 409, answer.text
    case = env.admin.get(f"/api/cases/{a}").json()
    assert (case["state"], case["public_number"]) == ("pending", None)
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert _number(env, a).endswith("-0001")


def test_a_case_changed_before_the_last_step_is_not_numbered(env, cases, fast_redaction, monkeypatch):
    """The case changes under the publication (here: rejected and reopened, approved again by the
    admin): the version Rita's request read is gone, so it is refused, and numbers nothing."""
    a, _ = cases
    _approve(env, a)

    def change() -> None:
        for step, body in (("undo", None), ("approve", {"reason": "checked again"})):
            who = env.reviewer if step == "undo" else env.admin
            r = who.post(f"/api/cases/{a}/{step}", json=body)
            assert r.status_code == 200, r.text

    answer = _publish_while(env, a, monkeypatch, change)
    assert answer.status_code == 409, answer.text
    case = env.admin.get(f"/api/cases/{a}").json()
    assert (case["state"], case["reviewer"], case["public_number"]) == ("approved", "admin", None)


def test_two_publications_counting_the_same_number_take_the_next_two(env, cases, fast_redaction, monkeypatch):
    """Rita's publication has counted the day's next number when the admin publishes another case
    and takes it. Rita's UPDATE is refused by the unique index; it counts again and takes the next
    one: each number once, no gap."""
    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)

    def publish_other() -> None:
        r = env.admin.post(f"/api/cases/{b}/publish")
        assert r.status_code == 200, r.text

    answer = _publish_while(env, a, monkeypatch, publish_other, case_number, "next_public_number")
    assert answer.status_code == 200, answer.text
    assert _number(env, b).endswith("-0001") and _number(env, a).endswith("-0002")
    assert answer.json()["state"] == "published"
    feed = env.display.get("/api/public/cases").json()["items"]
    assert sorted(c["number"] for c in feed) == sorted([_number(env, a), _number(env, b)])
