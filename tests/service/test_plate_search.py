"""Finding a case by its plate (``GET /api/cases?plate=``): the key both sides are reduced to, the
plate in force (a correction, not the read it replaced), a part of a plate, the other filters and
``after`` paging with it, the key kept by every path that changes a plate (ingest, a correction,
a re-run of a pending case), and migration 0009 filling it in for the cases already there.

The cases come in through the real ingest (a run folder's ``cases.json``; no evidence files, the
search does not look at them) and are corrected through the API, so the key under test is the one
the service writes, not one a test made up.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from service.models import Case, Job, Upload
from service.plate_search import PlateQueryError, plate_key, query_key

# (plate text as the pipeline read it, or None; start_s); the queue lists them in this order
PLATES = [("京A12345", 1.0), ("京A12388", 2.0), ("京B12345", 3.0), ("沪C99887", 4.0), (None, 5.0),
          ("粤A0B123", 6.0), ("京A12399", 7.0)]


# ---- the key -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "key"), [
    ("京A12345", "京A12345"),
    ("京a·12345", "京A12345"),  # a printed plate's middle dot, lower case
    ("京A 123-45", "京A12345"),  # spaces and hyphens
    ("京Ａ１２３４５", "京A12345"),  # a Chinese input method in full-width mode
    ("京A.12345", "京A12345"), ("京A・12345", "京A12345"), ("京A\u300012345", "京A12345"),  # dot, katakana dot, ideographic space
    ("粤AOB123", "粤A0B123"), ("粤A1B12I", "粤A1B121"),  # O and I: only ever misread 0 and 1
    ("", None), (None, None), (" · - ", None),
])
def test_plate_key_normalises_how_a_plate_is_written(written, key):
    assert plate_key(written) == key


def test_a_query_needs_two_to_32_letters_or_digits():
    assert query_key("a123") == "A123" and query_key(" 京 A ") == "京A"
    for short in ("A", "·-", "  ", "京·"):
        with pytest.raises(PlateQueryError, match=r"^plate: give at least 2"):
            query_key(short)
    with pytest.raises(PlateQueryError, match=r"^plate: longer than any plate"):
        query_key("A" * 33)
    with pytest.raises(PlateQueryError, match=r"^plate: a plate has letters and digits only"):
        query_key("A%1")  # a LIKE wildcard is not a plate character either


# ---- the API -------------------------------------------------------------------------------------------


def ingest(env, camera_id: str, plates: list[tuple[str | None, float]], tag: str = "p") -> list[str]:
    """The cases of one run folder with these plate reads, ingested as a finished job's; their ids
    in the queue's order."""
    from service.ingest import ingest_run

    run = env.data_dir / "jobs" / tag / "run-1"
    run.mkdir(parents=True, exist_ok=True)
    cases = [{"id": f"case-{i}", "rule": "wrong_way", "zone": "near-lanes", "start_s": start, "end_s": start + 1,
              "start_time": f"2026-05-01T08:00:0{i}+08:00", "object_class": "car" if text else "person",
              "track_ids": [i], "confidence": 0.9, "explanation": "x", "evidence": {},
              "plate": {"text": text, "confidence": 0.9, "format_ok": True, "kind": "blue", "frames_read": 3,
                        "t": start} if text else None}
             for i, (text, start) in enumerate(plates)]
    (run / "cases.json").write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
    (run / "manifest.json").write_text(json.dumps({"files": []}), encoding="utf-8")
    with env.app.state.session_factory() as db:
        job = db.query(Job).filter(Job.out_dir == f"jobs/{tag}/run-1").one_or_none()
        if job is None:
            up = Upload(path=f"uploads/{tag}.mp4", filename=f"{tag}.mp4", sha256=tag.encode().hex().ljust(64, "0"),
                        size=1, camera_id=camera_id)
            db.add(up)
            db.flush()
            job = Job(upload_id=up.id, state="done", out_dir=f"jobs/{tag}/run-1")
            db.add(job)
            db.flush()
        rows = ingest_run(db, job, run, env.data_dir)
        db.commit()
        return [r.id for r in sorted(rows, key=lambda r: r.start_s)]


def set_state(env, case_ids: list[str], state: str) -> None:
    with env.app.state.session_factory() as db:
        db.execute(update(Case).where(Case.id.in_(case_ids)).values(state=state))
        db.commit()


def found(env, **params) -> tuple[list[str], int]:
    r = env.reviewer.get("/api/cases", params=params)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]], r.json()["total"]


@pytest.fixture
def plated(env, camera) -> list[str]:
    return ingest(env, camera["camera_id"], PLATES)


def test_part_of_a_plate_written_any_way_finds_its_cases(env, plated):
    a12345, a12388, b12345, c99887, walker, a0b123, a12399 = plated
    assert found(env, plate="A123") == ([a12345, a12388, a12399], 3)
    assert found(env, plate="ａ１２３") == found(env, plate="a-1 2·3") == ([a12345, a12388, a12399], 3)
    assert found(env, plate="12345") == ([a12345, b12345], 2)
    assert found(env, plate="京A·12345") == ([a12345], 1)
    assert found(env, plate="沪C 99887") == ([c99887], 1)
    assert found(env, plate="AOB1") == ([a0b123], 1)  # O typed for the 0 the plate has
    assert found(env, plate="京Z") == ([], 0)
    assert found(env, plate="") == (plated, 7)  # an empty field is no filter, as for the others
    assert walker not in found(env, plate="A1")[0]


def test_a_corrected_plate_is_found_by_its_new_text_not_its_old(env, plated):
    a12345, a12388 = plated[:2]
    assert found(env, plate="京A12345") == ([a12345], 1)  # asked once: the answer may be cached
    r = env.reviewer.post(f"/api/cases/{a12345}/plate", json={"text": "京E5432I", "reason": "the close-up"})
    assert r.status_code == 200, r.text
    assert found(env, plate="京A12345") == ([], 0)  # the machine read is no longer in force
    assert found(env, plate="E54321") == ([a12345], 1)
    assert found(env, plate="A123") == ([a12388, plated[6]], 2)
    # corrected again: the newest correction is the one in force
    r = env.reviewer.post(f"/api/cases/{a12345}/plate", json={"text": "京A12377", "reason": "wrong again"})
    assert r.status_code == 200, r.text
    assert found(env, plate="E5432") == ([], 0)
    assert found(env, plate="A1237") == ([a12345], 1)


def test_the_plate_combines_with_the_state_filter_and_after_paging(env, plated):
    a12345, a12388, b12345, _, _, a0b123, a12399 = plated
    set_state(env, [a12388], "rejected")
    assert found(env, plate="A123", state="pending") == ([a12345, a12399], 2)
    assert found(env, plate="A123", state="rejected,approved") == ([a12388], 1)
    assert found(env, plate="A123", rule="red_light_pedestrian") == ([], 0)
    # a page of two at a time, each after the last one seen: every match once, the total of all
    first, total = found(env, plate="12", limit=2)
    assert (first, total) == ([a12345, a12388], 5)
    second, total = found(env, plate="12", limit=2, after=first[-1])
    third, total = found(env, plate="12", limit=2, after=second[-1])
    assert [*second, *third] == [b12345, a0b123, a12399] and total == 5
    assert found(env, plate="12", limit=2, after=a12399) == ([], 5)
    # and with the state filter: the rejected one is left out of pages and total alike
    first, total = found(env, plate="12", state="pending", limit=2)
    assert (first, total) == ([a12345, b12345], 4)
    assert found(env, plate="12", state="pending", limit=2, after=b12345) == ([a0b123, a12399], 4)


def test_a_plate_query_that_cannot_mean_a_plate_is_a_422_naming_plate(env, plated):
    for bad in ("A", "·-·", "  ", "A%1", "A" * 33, "A" * 65):
        r = env.reviewer.get("/api/cases", params={"plate": bad})
        assert r.status_code == 422, (bad, r.text)
        # the route's own check ("plate: ...") or, past the documented maxLength, the request's ("query.plate: ...")
        assert r.json()["detail"].split(": ")[0] in ("plate", "query.plate"), r.json()
        assert r.json()["code"] == "invalid_input"
    assert env.operator.get("/api/cases", params={"plate": "A123"}).status_code == 403


def test_a_rerun_of_a_pending_case_keeps_its_correction_in_force_and_takes_a_new_read(env, camera):
    corrected, read_again = ingest(env, camera["camera_id"], [("京A11111", 1.0), ("京A22222", 2.0)], tag="rerun")
    assert env.reviewer.post(f"/api/cases/{corrected}/plate",
                             json={"text": "京A11118", "reason": "an 8"}).status_code == 200
    # the job runs again (a retry): the pipeline reads other plates, the cases are still pending
    assert ingest(env, camera["camera_id"], [("京A11117", 1.0), ("京A22227", 2.0)], tag="rerun") == \
        [corrected, read_again]
    assert found(env, plate="A11118") == ([corrected], 1)  # the reviewer's word stands
    assert found(env, plate="A1111") == ([corrected], 1)
    assert found(env, plate="A22227") == ([read_again], 1) and found(env, plate="A22222") == ([], 0)


def test_the_parameter_is_documented(env):
    params = {p["name"]: p for p in env.anon.get("/openapi.json").json()["paths"]["/api/cases"]["get"]["parameters"]}
    doc = params["plate"]["description"]
    assert "in force" in doc and "correction" in doc and "422" in doc and "after" in doc


# ---- migration 0009 ------------------------------------------------------------------------------------


def test_migration_0009_fills_in_the_key_of_the_cases_already_there(settings, tmp_path):
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, inspect, text

    from service.db import normalize_url
    from service.main import create_app

    from .conftest import start_env
    from .helpers import PASSWORD, SCENE_YAML, downgrade_schema, login

    app = create_app(settings)
    main, env = start_env(app, settings)
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 201
    ids = ingest(env, "bj-overpass", PLATES)
    assert env.reviewer.post(f"/api/cases/{ids[0]}/plate", json={"text": "京E54321", "reason": "x"}).status_code == 200
    assert env.reviewer.post(f"/api/cases/{ids[0]}/plate", json={"text": "京E54322", "reason": "y"}).status_code == 200
    main.__exit__(None, None, None)

    # back to the schema before the key: the cases, their reads and corrections stay
    engine = create_engine(normalize_url(settings.db_url))
    downgrade_schema(engine, "0008")
    assert "plate_key" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plate_corrections")).scalar() == 2
    engine.dispose()

    app = create_app(settings)  # starting the new release migrates and backfills
    with TestClient(app):
        reviewer = login(app, "rita", PASSWORD)
        with app.state.session_factory() as db:
            keys = {c.id: c.plate_key for c in db.query(Case).filter(Case.id.in_(ids))}
        assert [keys[i] for i in ids] == ["京E54322", "京A12388", "京B12345", "沪C99887", None, "粤A0B123", "京A12399"]
        listed = reviewer.get("/api/cases", params={"plate": "A123"}).json()
        assert [c["id"] for c in listed["items"]] == [ids[1], ids[6]] and listed["total"] == 2
        assert reviewer.get("/api/cases", params={"plate": "E54322"}).json()["total"] == 1
        if settings.db_url.startswith("postgres"):  # the trigram index where pg_trgm can be had
            with app.state.session_factory() as db:
                index = db.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_plate_key'")).scalar()
            assert "gin" in index and "gin_trgm_ops" in index
