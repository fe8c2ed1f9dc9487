"""The audit log for the operations engineer (issue 8): filters by who, action, case and local
date; pages with the true total; actions in words in both languages; the CSV in local time with a
byte-order mark (Excel) and formula escaping (misuse 10).

Entries whose time matters are written straight into the real database with chosen times (the
log has no API to backdate an entry, rightly); everything is read back through the API.
"""

from __future__ import annotations

import ast
import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import service.audit_actions
from service.api.cases import TRANSITIONS
from service.audit_actions import ACTIONS, action_name
from service.db import session_scope
from service.main import create_app
from service.models import AuditEntry, Case
from service.web import i18n

from .conftest import start_env

CST = timezone(timedelta(hours=8))
IN_MAY = {
    "date_from": "2024-04-01",
    "date_to": "2024-06-30",
}  # our entries only, not the fixture's (today)

# name -> (local Beijing time, actor, action, object type, object id)
ENTRIES = {
    "A": (
        datetime(2024, 5, 1, 0, 30, tzinfo=CST),
        "rita",
        "case.approve",
        "case",
        "c1",
    ),  # UTC: 30 April
    "B": (
        datetime(2024, 5, 1, 23, 30, tzinfo=CST),
        "rita",
        "case.reject",
        "case",
        "c2",
    ),
    "C": (
        datetime(2024, 5, 2, 7, 59, tzinfo=CST),
        "otto",
        "upload.create",
        "upload",
        "7",
    ),  # UTC: 1 May
    "D": (
        datetime(2024, 5, 3, 10, 0, tzinfo=CST),
        "审核员张三",
        "case.approve",
        "case",
        "c1",
    ),
    "E": (
        datetime(2024, 5, 3, 11, 0, tzinfo=CST),
        "rita",
        "case.export",
        "case",
        "c0,c1,c3",
    ),
    "F": (
        datetime(2024, 5, 3, 12, 0, tzinfo=CST),
        '=HYPERLINK("http://evil.example")',
        "login.failed",
        "user",
        None,
    ),
}


def add_entries(env, rows) -> list[int]:
    """Insert (at, actor, action, object_type, object_id, details?) rows; their ids in order."""
    with session_scope(env.app.state.session_factory) as db:
        made = []
        for at, actor, action, otype, oid, *details in rows:
            e = AuditEntry(
                at=at,
                actor=actor,
                actor_role="reviewer",
                action=action,
                object_type=otype,
                object_id=oid,
                details=details[0] if details else {},
                ip="10.0.0.9",
            )
            db.add(e)
            made.append(e)
        db.flush()
        return [e.id for e in made]


@pytest.fixture
def entries(env) -> dict[str, int]:
    return dict(zip(ENTRIES, add_entries(env, ENTRIES.values()), strict=True))


def found(env, entries, **params) -> set[str]:
    r = env.admin.get("/api/audit", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    by_id = {v: k for k, v in entries.items()}
    return {
        by_id.get(item["id"], f"other:{item['action']}") for item in r.json()["items"]
    }


def test_each_filter_narrows_to_the_matching_entries(env, entries):
    assert found(env, entries, **IN_MAY) == set(ENTRIES)
    assert found(env, entries, actor="rita", **IN_MAY) == {"A", "B", "E"}
    assert found(env, entries, actor="审核员张三") == {"D"}
    assert found(env, entries, action="case.approve", **IN_MAY) == {"A", "D"}
    assert found(env, entries, action="case.*", **IN_MAY) == {"A", "B", "D", "E"}
    assert found(env, entries, action="case.approve", actor="rita") == {"A"}
    # a case: its own entries and the export that included it (not c10's, not c0's alone)
    assert found(env, entries, case="c1") == {"A", "D", "E"}
    assert found(env, entries, case="c3") == {"E"}
    assert found(env, entries, case="c") == set()
    # LIKE wildcards typed by the admin are plain characters; only * matches anything
    assert (
        found(env, entries, actor="r_ta") == set()
        and found(env, entries, actor="r%") == set()
    )
    assert found(env, entries, actor="r*", **IN_MAY) == {"A", "B", "E"}


def test_dates_are_whole_days_in_the_installations_zone(env, entries):
    # 1 May in Beijing is 30 April 16:00 UTC to 1 May 16:00 UTC: A is in it, C (1 May UTC) is not
    assert found(env, entries, date_from="2024-05-01", date_to="2024-05-01") == {
        "A",
        "B",
    }
    assert found(env, entries, date_from="2024-05-02", date_to="2024-05-02") == {"C"}
    assert found(env, entries, date_from="2024-05-03", date_to="2024-05-03") == {
        "D",
        "E",
        "F",
    }
    assert found(env, entries, date_to="2024-04-30") == set()
    # an ISO time with an offset is an instant, and date_to includes it
    assert found(
        env,
        entries,
        date_from="2024-05-01T23:30:00+08:00",
        date_to="2024-05-02T07:59:00+08:00",
    ) == {"B", "C"}
    assert found(env, entries, date_to="2024-05-01T00:30:00+08:00") == {"A"}


def test_paging_has_the_true_total_newest_first_and_stays_put(env):
    base = datetime(2024, 5, 10, 9, 0, tzinfo=CST)
    ids = add_entries(
        env,
        [
            (base + timedelta(minutes=i), "admin", "token.create", "token", str(i))
            for i in range(23)
        ],
    )
    params = {"action": "token.create", **IN_MAY, "limit": 10}
    first = env.admin.get("/api/audit", params=params).json()
    assert (first["total"], first["limit"], first["offset"]) == (23, 10, 0)
    pages = [first["items"]]
    for offset in (10, 20):
        page = env.admin.get(
            "/api/audit",
            params={**params, "offset": offset, "until_id": first["until_id"]},
        ).json()
        assert page["total"] == 23
        pages.append(page["items"])
    assert [len(p) for p in pages] == [10, 10, 3]
    seen = [item["id"] for p in pages for item in p]
    assert seen == sorted(ids, reverse=True)  # newest first, each entry once
    times = [item["at"] for p in pages for item in p]
    assert times == sorted(times, reverse=True)
    # an entry logged while paging does not shift the pinned pages; a fresh first page counts it
    add_entries(
        env, [(base + timedelta(hours=1), "admin", "token.create", "token", "late")]
    )
    again = env.admin.get(
        "/api/audit", params={**params, "offset": 10, "until_id": first["until_id"]}
    ).json()
    assert [i["id"] for i in again["items"]] == [i["id"] for i in pages[1]] and again[
        "total"
    ] == 23
    fresh = env.admin.get("/api/audit", params=params).json()
    assert (
        fresh["total"] == 24
        and fresh["items"][0]["object_id"] == "late"
        and fresh["until_id"] > first["until_id"]
    )
    past = env.admin.get("/api/audit", params={**params, "offset": 30}).json()
    assert past["items"] == [] and past["total"] == 24


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"date_from": "yesterday"}, "date_from", "YYYY-MM-DD"),
        ({"date_to": "2024-02-30"}, "date_to", "no such date"),
        ({"date_from": "2024-05-01T08:00:00"}, "date_from", "UTC offset"),
        (
            {"date_from": "2024-05-02", "date_to": "2024-05-01"},
            "date_to",
            "before date_from",
        ),
        ({"lang": "fr"}, "lang", ""),
        ({"until_id": 0}, "until_id", "greater than or equal to 1"),
    ],
)
def test_bad_filters_are_refused_with_the_field_named(env, params, field, words):
    for url in ("/api/audit", "/api/audit/export"):
        r = env.admin.get(url, params=params)
        assert r.status_code == 422, (url, r.text)
        assert field in r.json()["detail"] and words in r.json()["detail"], r.json()
    assert (
        env.admin.get("/api/audit", params={"action": "audit.export"}).json()["total"]
        == 0
    )  # no export ran


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"limit": 1001}, "limit: Input should be less than or equal to 1000"),
        ({"offset": -1}, "offset: Input should be greater than or equal to 0"),
    ],
)
def test_bad_paging_is_refused(env, params, words):
    r = env.admin.get("/api/audit", params=params)
    assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_actions_are_named_in_the_readers_language(env, entries):
    def names(**params):
        items = env.admin.get(
            "/api/audit", params={"action": "case.approve", "actor": "rita", **params}
        ).json()["items"]
        return {(i["action"], i["action_name"]) for i in items}

    assert names(lang="en") == {("case.approve", "Approved case")}
    assert names(lang="zh-CN") == {("case.approve", "批准案件")}
    env.admin.cookies.set(i18n.LANG_COOKIE, "en")  # the page's language choice
    assert names() == {("case.approve", "Approved case")}
    # a code this version has no name for is shown as it is, not hidden
    add_entries(
        env, [(datetime(2024, 5, 4, tzinfo=CST), "rita", "legacy.thing", None, None)]
    )
    item = env.admin.get("/api/audit", params={"action": "legacy.thing"}).json()[
        "items"
    ][0]
    assert item["action_name"] == "legacy.thing"


def test_times_carry_the_local_offset(env, entries):
    page = env.admin.get(
        "/api/audit", params={"action": "case.approve", "actor": "rita"}
    ).json()
    assert page["timezone"] == "Asia/Shanghai"
    assert page["items"][0]["at_local"] == "2024-05-01T00:30:00+08:00"
    assert page["items"][0]["at"] == "2024-04-30T16:30:00+00:00"


def test_csv_has_a_bom_local_times_names_chinese_and_escaped_formulas(env, entries):
    r = env.admin.get("/api/audit/export", params={**IN_MAY, "lang": "zh-CN"})
    assert (
        r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    )
    assert r.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    assert "+0800.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["id"] for row in rows] == [
        str(entries[k]) for k in "ABCDEF"
    ]  # oldest first, as a log reads
    by_actor = {row["actor"]: row for row in rows}
    a = rows[0]
    assert (
        a["at"] == "2024-05-01T00:30:00+08:00"
        and a["action"] == "case.approve"
        and a["action_name"] == "批准案件"
    )
    assert (
        by_actor["审核员张三"]["action_name"] == "批准案件"
    )  # Chinese survives the round trip
    assert (
        by_actor['\'=HYPERLINK("http://evil.example")']["action_name"] == "登录失败"
    )  # misuse 10 kept
    for row in rows:
        assert not any(str(v).startswith(("=", "+", "-", "@")) for v in row.values()), (
            row
        )
    english = env.admin.get(
        "/api/audit/export", params={**IN_MAY, "lang": "en", "action": "case.approve"}
    )
    rows = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert [(row["actor"], row["action_name"]) for row in rows] == [
        ("rita", "Approved case"),
        ("审核员张三", "Approved case"),
    ]
    # the export is itself audited, with the filters it used
    logged = env.admin.get("/api/audit", params={"action": "audit.export"}).json()[
        "items"
    ][0]
    assert logged["details"]["filters"] == {**IN_MAY, "action": "case.approve"}


def test_a_case_is_found_by_its_public_number(env, cases):
    assert (
        env.reviewer.post(
            f"/api/cases/{cases[1]}/reject", json={"reason": "blurry"}
        ).status_code
        == 200
    )
    with session_scope(env.app.state.session_factory) as db:
        db.get(Case, cases[1]).public_number = "20240501-0007"
    items = env.admin.get("/api/audit", params={"case": "20240501-0007"}).json()[
        "items"
    ]
    assert [(i["action"], i["object_id"]) for i in items] == [("case.reject", cases[1])]
    assert (
        env.admin.get("/api/audit", params={"case": cases[1]}).json()["items"] == items
    )


def test_the_zone_setting_moves_day_boundaries_and_times(settings):
    s = settings.model_copy(update={"timezone": "America/New_York"})
    main, env = start_env(create_app(s), s)
    try:
        ids = add_entries(env, [ENTRIES["A"], ENTRIES["C"]])
        # 30 April 12:30 and 1 May 19:59 in New York (EDT, -04:00)
        page = env.admin.get(
            "/api/audit", params={"date_from": "2024-04-30", "date_to": "2024-04-30"}
        ).json()
        assert page["timezone"] == "America/New_York"
        assert [(i["id"], i["at_local"]) for i in page["items"]] == [
            (ids[0], "2024-04-30T12:30:00-04:00")
        ]
        body = env.admin.get(
            "/api/audit/export", params={"date_from": "2024-05-01"}
        ).content.decode("utf-8-sig")
        assert "2024-05-01T19:59:00-04:00" in body
    finally:
        main.__exit__(None, None, None)


def _recorded_actions() -> set[str]:
    """Every action code passed to ``audit.record`` in the service and the CLI sources."""
    from service import login_throttle

    codes: set[str] = set()
    root = Path(service.audit_actions.__file__).parents[1]  # the repository
    for path in [
        *(root / "service").rglob("*.py"),
        *(root / "civicwatch").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                continue
            arg = (
                node.args[3]
                if len(node.args) > 3
                else next(k.value for k in node.keywords if k.arg == "action")
            )
            if isinstance(arg, ast.Constant):
                codes.add(arg.value)
            elif (
                isinstance(arg, ast.JoinedStr)
                and ast.unparse(arg) == "f'case.{action}'"
            ):
                codes |= {f"case.{a}" for a in TRANSITIONS}
            elif (
                isinstance(arg, ast.Attribute)
                and ast.unparse(arg) == "login_throttle.THROTTLED"
            ):
                codes.add(login_throttle.THROTTLED)
            else:
                raise AssertionError(
                    f"{path}:{node.lineno}: an action code this test cannot read: {ast.unparse(arg)}"
                )
    return codes


def test_every_recorded_action_has_a_name_in_both_languages():
    recorded = _recorded_actions()
    assert {
        "login",
        "case.approve",
        "case.withdraw",
        "login.throttled",
        "audit.export",
    } <= recorded
    assert recorded - set(ACTIONS) == set(), (
        "add these to service.audit_actions.ACTIONS"
    )
    for code in ACTIONS:
        for lang in i18n.LANGUAGES:
            assert f"audit.action.{code}" in i18n.catalogue(lang), (lang, code)
        assert action_name(code, "en") != action_name(code, "zh-CN") != code
