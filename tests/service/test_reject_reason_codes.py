"""A rejection's reason is stored as its code (``Case.reject_reason_code``) beside the reviewer's
words, and the statistics count by the code, on both databases.

The defect: the reason was stored as text only (the chosen label in the page's language, then the
note) and the statistics told it back to a code by the catalogues' labels, so rewording a label
turned every older rejection into ``other``. Here: a rejection with a code stores it, one with an
unknown code is a 422 that stores nothing, an old client's text still gets its code, a reworded
label leaves the figures alone, and migration 0010 fills in the code of the rejections already
there.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

import service.reject_reasons as reject_reasons
from service.models import AuditEntry, Case
from service.reject_reasons import REJECT_REASONS

from .test_case_stats import BEIJING, SEED, Seed, seed

SPAN = {"date_from": "2026-05-01", "date_to": "2026-05-01"}
PENDING = [
    Seed(f"p{i}", "dongmen", "wrong_way", datetime(2026, 5, 1, 10, i, tzinfo=BEIJING), "pending") for i in range(1, 7)
]


@pytest.fixture
def pending(env):
    seed(env, PENDING)
    return env


def reworded(monkeypatch) -> None:  # noqa: ANN001
    """Every reason's label reworded in both catalogues (as a translator might)."""
    original = reject_reasons.catalogue

    def catalogue(lang: str) -> dict[str, str]:
        return {**original(lang), **{f"reject.{c}": f"{original(lang)[f'reject.{c}']} (v2)" for c in REJECT_REASONS}}

    monkeypatch.setattr(reject_reasons, "catalogue", catalogue)
    assert reject_reasons.labels("not_violation") == ("不构成违法 (v2)", "Not a violation (v2)")


def reasons(client) -> dict[str, int]:  # noqa: ANN001
    r = client.get("/api/stats/cases", params={"group": "day", **SPAN})
    assert r.status_code == 200, r.text
    return {code: n for code, n in r.json()["total"]["rejected_by_reason"].items() if n}


def stored(env, case_id: str) -> tuple[str, str | None, str | None]:
    with env.app.state.session_factory() as db:
        case = db.get(Case, case_id)
        return case.state, case.reason, case.reject_reason_code


def test_a_rejection_stores_its_code_and_the_note(pending):
    env = pending
    r = env.reviewer.post("/api/cases/p1/reject", json={"reason_code": "duplicate", "reason": " J12-3 "})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["reason_code"], r.json()["reason"]) == ("rejected", "duplicate", "J12-3")
    assert stored(env, "p1") == ("rejected", "J12-3", "duplicate")
    # the case schema carries it wherever the reason is: the case page, the queue, the audit entry
    assert env.reviewer.get("/api/cases/p1").json()["reason_code"] == "duplicate"
    listed = {c["id"]: c for c in env.reviewer.get("/api/cases", params={"state": "rejected"}).json()["items"]}
    assert (listed["p1"]["reason_code"], listed["p1"]["reason"]) == ("duplicate", "J12-3")
    entry = env.admin.get("/api/audit", params={"object_id": "p1", "action": "case.reject"}).json()["items"][0]
    assert entry["details"] == {"from_state": "pending", "reason": "J12-3", "reason_code": "duplicate"}

    # a listed reason needs no note; "other" does
    assert env.reviewer.post("/api/cases/p2/reject", json={"reason_code": "wrong_signal"}).status_code == 200
    assert stored(env, "p2") == ("rejected", None, "wrong_signal")
    other = env.reviewer.post("/api/cases/p3/reject", json={"reason_code": "other", "reason": " "})
    assert other.status_code == 422 and other.json()["code"] == "reason_required"
    assert stored(env, "p3") == ("pending", None, None)

    # bulk rejections store it on every case
    r = env.reviewer.post(
        "/api/cases/bulk", json={"ids": ["p3"], "action": "reject", "reason_code": "not_identifiable"}
    )
    assert r.status_code == 200 and r.json()["done"] == 1, r.text
    assert stored(env, "p3") == ("rejected", None, "not_identifiable")

    # an undo clears it with the rest of the decision, and the audit entry keeps it
    assert env.reviewer.post("/api/cases/p1/undo").json()["reason_code"] is None
    assert stored(env, "p1") == ("pending", None, None)
    entry = env.admin.get("/api/audit", params={"object_id": "p1", "action": "case.undo"}).json()["items"][0]
    assert (entry["details"]["previous_reason"], entry["details"]["previous_reason_code"]) == ("J12-3", "duplicate")
    assert reasons(env.reviewer) == {"wrong_signal": 1, "not_identifiable": 1}


def test_an_old_client_that_sends_only_text_still_gets_a_code(pending):
    env = pending
    for case_id, text, code in (
        ("p1", "不构成违法: 行人已过街", "not_violation"),
        ("p2", "Not a violation", "not_violation"),
        ("p3", "Duplicate of another case: J12-3", "duplicate"),
        ("p4", "blurry", "other"),
    ):
        r = env.reviewer.post(f"/api/cases/{case_id}/reject", json={"reason": text})
        assert r.status_code == 200, r.text
        assert r.json()["reason_code"] == code and stored(env, case_id) == ("rejected", text, code)
    r = env.reviewer.post("/api/cases/bulk", json={"ids": ["p5"], "action": "reject", "reason": "检测错误: 影子"})
    assert r.json()["done"] == 1 and stored(env, "p5") == ("rejected", "检测错误: 影子", "detector_error")
    # without a code or words: as before
    for body in ({}, {"reason": "  "}, {"reason_code": None}):
        r = env.reviewer.post("/api/cases/p6/reject", json=body)
        assert r.status_code == 422 and r.json()["code"] == "reason_required", (body, r.text)
    assert stored(env, "p6") == ("pending", None, None)


def test_an_unknown_code_is_a_422_and_stores_nothing(pending):
    env = pending
    with env.app.state.session_factory() as db:
        entries = db.query(AuditEntry).count()
    for url, body in (
        ("/api/cases/p1/reject", {"reason_code": "bad_weather", "reason": "rain"}),
        ("/api/cases/p1/reject", {"reason_code": "Not a violation"}),
        ("/api/cases/bulk", {"ids": ["p1", "p2"], "action": "reject", "reason_code": "bad_weather", "reason": "rain"}),
        ("/api/cases/bulk", {"ids": ["p1"], "action": "approve", "reason_code": "duplicate"}),
    ):
        r = env.reviewer.post(url, json=body)
        assert r.status_code == 422 and r.json()["code"] == "invalid_input", (url, body, r.text)
        assert r.json()["detail"].startswith("reason_code:")
    assert "'not_violation'" in env.reviewer.post("/api/cases/p1/reject", json={"reason_code": "x"}).json()["detail"]
    assert stored(env, "p1") == stored(env, "p2") == ("pending", None, None)
    with env.app.state.session_factory() as db:
        assert db.query(AuditEntry).count() == entries


def test_rewording_a_label_changes_no_count(pending, monkeypatch):
    """The figures count the codes stored with the rejections: a label reworded in the catalogues
    (both languages here) leaves them as they were. Counted by the labels, every one of these
    became ``other``."""
    env = pending
    for case_id, body in (
        ("p1", {"reason_code": "not_violation", "reason": "行人已过街"}),
        ("p2", {"reason": "Not a violation: gone"}),  # an old client's text
        ("p3", {"reason_code": "detector_error"}),
        ("p4", {"reason": "不构成违法"}),
    ):
        assert env.reviewer.post(f"/api/cases/{case_id}/reject", json=body).status_code == 200
    before = reasons(env.reviewer)
    assert before == {"not_violation": 3, "detector_error": 1}
    reworded(monkeypatch)
    assert reasons(env.reviewer) == before
    table = env.reviewer.get("/api/stats/cases", params={"group": "day", "format": "csv", **SPAN}).text
    (row,) = csv.DictReader(io.StringIO(table.lstrip("\ufeff")))
    assert {c: row[f"rejected_{c}"] for c in REJECT_REASONS} == {
        **dict.fromkeys(REJECT_REASONS, "0"),
        "not_violation": "3",
        "detector_error": "1",
    }


def test_migration_0010_fills_in_the_code_of_the_rejections_already_there(settings, monkeypatch):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, inspect

    from service.db import normalize_url
    from service.main import create_app

    from .conftest import start_env
    from .helpers import PASSWORD, downgrade_schema, login

    app = create_app(settings)
    main, env = start_env(app, settings)
    seed(env)  # rejections stored as text only (c2, c4, c7, c8), approved, withdrawn and pending cases
    with env.app.state.session_factory() as db:  # a rejected row without any reason
        db.add(
            Case(
                **{
                    **{c.key: getattr(db.get(Case, "c8"), c.key) for c in Case.__table__.columns},
                    "id": "c12",
                    "reason": None,
                    "dedup_key": None,
                }
            )
        )
        db.commit()
    main.__exit__(None, None, None)

    engine = create_engine(normalize_url(settings.db_url))
    downgrade_schema(engine, "0009")
    assert "reject_reason_code" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    engine.dispose()

    # a later release with every label reworded: the upgrade still reads the labels the page sent
    reworded(monkeypatch)
    app = create_app(settings)  # starting the new release migrates and fills in the codes
    with TestClient(app):
        with app.state.session_factory() as db:
            codes = {c.id: (c.state, c.reject_reason_code) for c in db.query(Case)}
        assert codes == {
            "c2": ("rejected", "not_violation"),  # "Not a violation: 行人已过街"
            "c4": ("rejected", "not_violation"),  # "不构成违法"
            "c7": ("rejected", "detector_error"),  # "检测错误: 影子"
            "c8": ("rejected", "other"),  # "Blurry footage"
            "c12": ("rejected", "other"),
            **{s.id: (s.state, None) for s in SEED if s.state != "rejected"},  # "wrong plate" (withdrawn) too
        }
        reviewer = login(app, "rita", PASSWORD)
        everything = {"date_from": "2026-04-01", "date_to": "2026-06-01"}
        figures = reviewer.get("/api/stats/cases", params=everything).json()["total"]["rejected_by_reason"]
        assert figures == {**dict.fromkeys(REJECT_REASONS, 0), "not_violation": 2, "detector_error": 1, "other": 2}
