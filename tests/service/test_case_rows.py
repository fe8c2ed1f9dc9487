"""The review queue reads only the columns its summary shows (``service.api.case_rows``); its items
must still be exactly the case summary every other route gives, on both databases."""

from __future__ import annotations

from service.api.common import case_summary
from service.models import Case


def _summaries(env) -> dict[str, dict]:
    with env.app.state.session_factory() as db:
        return {c.id: case_summary(c) for c in db.query(Case)}


def _listed(env, **params) -> dict[str, dict]:
    r = env.reviewer.get("/api/cases", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    # zone_names and timezone come from the scene each case was judged by, beside the summary
    return {c["id"]: {k: v for k, v in c.items() if k not in ("zone_names", "timezone")} for c in r.json()["items"]}


def test_queue_items_are_the_full_case_summary(env, cases):
    car = next(c for c in cases if env.reviewer.get(f"/api/cases/{c}").json()["object_class"] == "car")
    for text in ("京A12345", "京A12346"):  # two corrections: the newer is in force, both counted
        r = env.reviewer.post(f"/api/cases/{car}/plate", json={"text": text, "reason": "read from the sheet"})
        assert r.status_code == 200, r.text
    other = next(c for c in cases if c != car)
    assert env.reviewer.post(f"/api/cases/{other}/reject", json={"reason": "not an offence"}).status_code == 200

    listed, full = _listed(env), _summaries(env)
    assert listed == full and set(listed) == set(cases)
    assert listed[car]["plate"]["text"] == "京A12346" and listed[car]["plate"]["correction"]["corrections"] == 2
    assert listed[car]["snapshot_url"] and listed[car]["start_time_local"]
    assert listed[other]["state"] == "rejected" and listed[other]["reason"] == "not an offence"
    # the filters and paging still apply to the narrow query
    assert set(_listed(env, state="pending")) == {car}
    page = env.reviewer.get("/api/cases", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [c["id"] for c in page["items"]] == [
        sorted(full, key=lambda i: (full[i]["created_at"], full[i]["start_s"], i))[1]
    ]


def test_missing_json_keys_read_as_absent(env, cases):
    """A case record without explanation_zh or a snapshot (older runs) lists as the summary does."""
    with env.app.state.session_factory() as db:
        case = db.get(Case, cases[0])
        case.data = {k: v for k, v in case.data.items() if k not in ("explanation_zh", "start_time")}
        case.evidence = {k: v for k, v in case.evidence.items() if k != "snapshot"}
        db.commit()
    listed, full = _listed(env), _summaries(env)
    assert listed == full
    assert listed[cases[0]]["snapshot_url"] is None and listed[cases[0]]["start_time_local"] is None
