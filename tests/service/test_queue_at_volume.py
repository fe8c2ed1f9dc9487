"""The review queue with more cases than a page, as a reviewer pages through it while others decide
and new cases arrive: every page read in the queue's order from an index (no sort of every
matching row), a fixed number of SQL statements whatever the page, and paging by the last case
seen that neither skips nor repeats a case when the list moves under it.

The cases are written straight into the tables (no evidence files): these tests are about the
list's queries, not the evidence (``benchmarks/review_volume.py`` does the same at 20,000 cases).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from service.models import Case, Job, PlateCorrection, Upload

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def add_cases(env, camera_id: str, n: int, first: int = 0, state_of=lambda i: "pending") -> list[str]:  # noqa: ANN001
    """``n`` cases of one job, created a second apart from ``T0 + first`` s; their ids in queue order."""
    with env.app.state.session_factory() as db:
        up = Upload(
            path=f"uploads/v{first}.mp4", filename=f"v{first}.mp4", sha256=f"{first:064x}", size=1, camera_id=camera_id
        )
        db.add(up)
        db.flush()
        job = Job(upload_id=up.id, state="done", out_dir=f"jobs/v{first}/run-1")
        db.add(job)
        db.flush()
        ids = []
        for i in range(first, first + n):
            cid = f"vol-{i:05d}"
            created = T0 + timedelta(seconds=i)
            db.add(
                Case(
                    id=cid,
                    pipeline_id=f"case-{i}",
                    job_id=job.id,
                    camera_id=camera_id,
                    rule=("wrong_way", "red_light_ped")[i % 2],
                    zone="near-lanes",
                    start_s=float(i % 7),
                    end_s=float(i % 7) + 2,
                    start_time=created,
                    object_class="car",
                    track_ids=[i],
                    confidence=0.9,
                    explanation="x",
                    out_dir=job.out_dir,
                    evidence_dir=f"{job.out_dir}/{cid}",
                    evidence={"snapshot": f"{cid}/snapshot.jpg"},
                    evidence_hashes={},
                    data={"start_time": created.isoformat(), "explanation_zh": "逆行", "bulk": list(range(50))},
                    state=state_of(i),
                    plate={"text": f"京A{i:05d}", "confidence": 0.9, "format_ok": True, "kind": "blue"},
                    created_at=created,
                    updated_at=created,
                )
            )
            ids.append(cid)
            if i % 3 == 0:
                db.add(
                    PlateCorrection(case_id=cid, text=f"京B{i:05d}", format_ok=True, reason="misread", reviewer="rita")
                )
        db.commit()
    return ids


@pytest.fixture
def volume(env, camera) -> list[str]:
    env.app.state.list_cache.ttl_s = 0  # every request reaches the database
    return add_cases(env, camera["camera_id"], 90, state_of=lambda i: "pending" if i % 4 else "rejected")


class Statements:
    """The SQL statements the app sends while in the ``with`` block."""

    def __init__(self, env) -> None:  # noqa: ANN001
        self.engine = env.app.state.engine
        self.sql: list[str] = []

    def _one(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.sql.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        event.remove(self.engine, "before_cursor_execute", self._one)


def _ids(r) -> list[str]:  # noqa: ANN001
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def _plan(env, sql: str, params: dict) -> str:  # noqa: ANN001
    with env.app.state.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET enable_sort = off"))  # a sort only where no index gives the order
            conn.execute(text("ANALYZE cases"))
            return "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, params).scalars())
        return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.parametrize("query", [{"state": "pending"}, {}, {"state": "pending", "offset": 40}])
def test_queue_pages_are_read_in_index_order(env, volume, query):
    """Without an index in the queue's order, every page sorted all matching cases (20,000 cases:
    2.5 s for the unfiltered first page on PostgreSQL, 0.8 s for the pending queue's)."""
    seen: list[tuple[str, dict]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if re.search(r"FROM cases\b", statement) and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(env.app.state.engine, "before_cursor_execute", keep)
    try:
        assert _ids(env.reviewer.get("/api/cases", params={"limit": 10, **query}))
    finally:
        event.remove(env.app.state.engine, "before_cursor_execute", keep)
    assert seen
    for statement, params in seen:
        plan = _plan(env, statement, params)
        assert "Sort" not in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_list_statements_do_not_grow_with_the_page(env, volume):
    """One query for the page's ids with the count, one for their rows, one for the plate
    corrections of the page, one for the scenes: the same for 5 items as for 60 (no query per case)."""
    counts = []
    for limit in (5, 60):
        with Statements(env) as st:
            assert len(_ids(env.reviewer.get("/api/cases", params={"limit": limit}))) == limit
        counts.append(len(st.sql))
    assert counts[0] == counts[1], counts


def test_deep_page_reads_only_its_own_rows(env, volume):
    """A page far down the list reads the summary columns (JSON extracted from each case's record)
    of its own rows only: the page's ids come first from the index, then their rows. Paging with
    OFFSET over the full rows extracted the JSON of every row skipped (20,000 cases: 1.3 s for the
    last page)."""
    with Statements(env) as st:
        got = _ids(env.reviewer.get("/api/cases", params={"limit": 5, "offset": 80}))
    assert got == [f"vol-{i:05d}" for i in range(80, 85)]
    rows = [s for s in st.sql if re.search(r"FROM cases\b", s) and re.search(r"->>|json_extract", s, re.I)]
    assert rows, st.sql
    for s in rows:  # the extraction reads the page's rows, chosen by id, not every row under the OFFSET
        assert "OFFSET" not in s.upper(), s


def test_paging_after_the_last_case_skips_none_when_cases_are_decided(env, volume):
    """The review page asks for the next page while the reviewer decides the cases already shown.
    By offset the pending list had moved up under it: the next page started past cases nobody had
    seen (five decided: five skipped; the page's overlap of five hid only that many)."""
    pending = _ids(env.reviewer.get("/api/cases", params={"state": "pending", "limit": 500}))
    first = _ids(env.reviewer.get("/api/cases", params={"state": "pending", "limit": 20}))
    assert first == pending[:20]
    r = env.reviewer.post("/api/cases/bulk", json={"ids": first[:12], "action": "reject", "reason": "not an offence"})
    assert r.status_code == 200 and r.json()["done"] == 12, r.text
    nxt = _ids(env.reviewer.get("/api/cases", params={"state": "pending", "limit": 20, "after": first[-1]}))
    assert nxt == pending[20:40]


def test_paging_after_the_last_case_repeats_none_when_cases_arrive(env, volume, camera):
    """Cases arriving while the reviewer pages join the end of the list, never a page already read."""
    everything = _ids(env.reviewer.get("/api/cases", params={"limit": 500}))
    seen = _ids(env.reviewer.get("/api/cases", params={"limit": 30}))
    late = add_cases(env, camera["camera_id"], 5, first=1000)
    while True:
        page = _ids(env.reviewer.get("/api/cases", params={"limit": 30, "after": seen[-1]}))
        if not page:
            break
        seen += page
    assert seen == everything + late and len(set(seen)) == len(seen)


def test_after_an_unknown_case_is_a_404(env, volume):
    r = env.reviewer.get("/api/cases", params={"after": "no-such-case"})
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.text


def test_an_exports_history_is_read_in_statements_that_do_not_grow_with_the_cases(env, volume):
    """Each exported case's ``history.json`` was read with two statements of its own (the case by
    public number, then a LIKE scan of the log): 204 statements for 100 cases. Now the whole
    export's history is read at once; each case still gets its own entries and the export's."""
    counts = []
    for n in (3, 40):
        ids = volume[:n]
        with Statements(env) as st:
            r = env.reviewer.post("/api/cases/export", json={"ids": ids})
            assert r.status_code == 200, r.text[:300]
        reads = [s for s in st.sql if re.search(r"FROM audit\b", s) and s.lstrip().upper().startswith("SELECT")]
        counts.append(len(reads))
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            for cid in (ids[0], ids[-1]):
                history = json.loads(z.read(f"{cid}/history.json"))
                assert history["case"] == cid
                exports = [e for e in history["entries"] if e["action"] == "case.export"]
                assert exports and cid in exports[-1]["details"]["ids"], history
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("offset", [0, 3], ids=["first-page", "past-the-end"])
def test_the_total_agrees_with_the_page_when_a_case_arrives_while_they_are_read(env, camera, offset):
    """The list's total and its page were read by two statements: a case committed between them
    (a worker ingesting while the review page polls) was listed but not counted, 4 cases under
    "total 3", or, on the page past the end, shown on a page the total said was empty. Both now
    come from one snapshot; an empty page whose total has grown meanwhile is read again."""
    env.app.state.list_cache.ttl_s = 0
    add_cases(env, camera["camera_id"], 3)
    arrived: list[str] = []

    def one_arrives(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not arrived and re.search(r"count\(\*\)", statement) and re.search(r"FROM cases\b", statement):
            arrived.append("busy")  # add_cases's own statements come through here too
            arrived[:] = add_cases(env, camera["camera_id"], 1, first=3)

    event.listen(env.app.state.engine, "after_cursor_execute", one_arrives)
    try:
        r = env.reviewer.get("/api/cases", params={"offset": offset})
    finally:
        event.remove(env.app.state.engine, "after_cursor_execute", one_arrives)
    assert arrived == ["vol-00003"], "no case arrived while the list was read"
    items, total = _ids(r), r.json()["total"]
    assert len(items) == max(0, total - offset), f"{len(items)} listed from {offset} under total {total}: {items}"
    assert items == [f"vol-{i:05d}" for i in range(offset, total)]
