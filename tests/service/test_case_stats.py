"""Review statistics (GET /api/stats/cases) on both databases: counts per state and reject reason,
the approval share, the time to the first decision, local days in the installation's zone
(Asia/Shanghai) across midnight, the CSV, and who may ask.

The cases and their audit entries are written straight into the tables with known times (no
evidence files): the figures are the database's arithmetic, so every expected number below is
worked out by hand from the seed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from service.case_stats import _local_day_sqlite, parse_group
from service.models import AuditEntry, Camera, Case, Job, Upload
from service.reject_reasons import REJECT_REASONS, reason_code

from .test_openapi_contract import conforms

BEIJING = timezone(timedelta(hours=8))
SPAN = {"date_from": "2026-05-01", "date_to": "2026-05-02"}


@dataclass(frozen=True)
class Seed:
    id: str
    camera: str
    rule: str
    start: datetime  # Beijing time
    state: str
    reason: str | None = None
    decisions: tuple[tuple[str, int], ...] = ()  # (audit action, seconds after the case's creation)


SEED = [
    # 1 May, Beijing. 07:30 there is 23:30 UTC on 30 April: it must count on 1 May.
    Seed("c1", "dongmen", "wrong_way", datetime(2026, 5, 1, 7, 30, tzinfo=BEIJING), "approved",
         decisions=(("case.approve", 60),)),
    Seed("c2", "dongmen", "wrong_way", datetime(2026, 5, 1, 12, 0, tzinfo=BEIJING), "rejected",
         "Not a violation: 行人已过街", (("case.reject", 120),)),
    Seed("c3", "dongmen", "red_light_pedestrian", datetime(2026, 5, 1, 23, 59, tzinfo=BEIJING), "published",
         decisions=(("case.approve", 180), ("case.publish", 5000))),
    Seed("c4", "xizhan", "wrong_way", datetime(2026, 5, 1, 9, 0, tzinfo=BEIJING), "rejected", "不构成违法",
         (("case.reject", 240),)),
    Seed("c5", "xizhan", "red_light_pedestrian", datetime(2026, 5, 1, 10, 0, tzinfo=BEIJING), "pending"),
    # 2 May, Beijing. Midnight there is 16:00 UTC on 1 May.
    Seed("c6", "dongmen", "wrong_way", datetime(2026, 5, 2, 0, 0, tzinfo=BEIJING), "withdrawn", "wrong plate",
         (("case.approve", 300), ("case.withdraw", 900))),
    # rejected at 30 s, undone, rejected again: the first decision is the one at 30 s
    Seed("c7", "dongmen", "wrong_way", datetime(2026, 5, 2, 8, 0, tzinfo=BEIJING), "rejected", "检测错误: 影子",
         (("case.reject", 30), ("case.undo", 40), ("case.reject", 1000))),
    Seed("c8", "xizhan", "wrong_way", datetime(2026, 5, 2, 9, 0, tzinfo=BEIJING), "rejected", "Blurry footage",
         (("case.reject", 600),)),
    # decided outside the service: counted, but it has no time to a first decision
    Seed("c9", "xizhan", "wrong_way", datetime(2026, 5, 2, 9, 30, tzinfo=BEIJING), "approved"),
    # outside the span: 30 April 23:59 and 3 May 00:00 in Beijing
    Seed("c10", "dongmen", "wrong_way", datetime(2026, 4, 30, 23, 59, tzinfo=BEIJING), "approved",
         decisions=(("case.approve", 5),)),
    Seed("c11", "dongmen", "wrong_way", datetime(2026, 5, 3, 0, 0, tzinfo=BEIJING), "pending"),
]


def seed(env, seeds: list[Seed] = SEED) -> None:  # noqa: ANN001
    with env.app.state.session_factory() as db:
        for cam, place in (("dongmen", "东门路口"), ("xizhan", "=West station")):
            db.add(Camera(id=cam, kind="fixed", place=place, timezone="Asia/Shanghai", scene_yaml=""))
        db.flush()
        up = Upload(path="uploads/s.mp4", filename="s.mp4", sha256="5" * 64, size=1, camera_id="dongmen")
        db.add(up)
        db.flush()
        job = Job(upload_id=up.id, state="done", out_dir="jobs/s/run-1")
        db.add(job)
        db.flush()
        for i, s in enumerate(seeds):
            created = s.start.astimezone(UTC) + timedelta(minutes=5)
            db.add(Case(id=s.id, pipeline_id=s.id, job_id=job.id, camera_id=s.camera, rule=s.rule, zone="z",
                        start_s=float(i), end_s=float(i) + 2, start_time=s.start, object_class="car", track_ids=[i],
                        out_dir=job.out_dir, evidence_dir=f"{job.out_dir}/{s.id}", state=s.state, reason=s.reason,
                        created_at=created, updated_at=created))
            for action, after in s.decisions:
                db.add(AuditEntry(at=created + timedelta(seconds=after), actor="rita", actor_role="reviewer",
                                  action=action, object_type="case", object_id=s.id, details={}))
        # an entry of another kind of object with a case's id: not a decision of that case
        db.add(AuditEntry(at=datetime(2026, 5, 1, tzinfo=UTC), actor="rita", action="case.reject",
                          object_type="camera", object_id="c5", details={}))
        db.commit()


@pytest.fixture
def seeded(env):
    seed(env)
    return env


def _get(client, **params):  # noqa: ANN001, ANN202
    r = client.get("/api/stats/cases", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_days_are_beijing_days_with_states_reasons_and_decision_times(seeded):
    body = _get(seeded.reviewer, group="day", **SPAN)
    assert body["group"] == ["day"] and body["timezone"] == "Asia/Shanghai"
    may1, may2 = body["rows"]
    assert may1["day"] == "2026-05-01" and may2["day"] == "2026-05-02"
    assert (may1["cases"], may1["pending"], may1["approved"], may1["rejected"], may1["published"],
            may1["withdrawn"], may1["decided"]) == (5, 1, 1, 2, 1, 0, 4)
    assert may1["approval_share"] == 0.5  # (1 approved + 1 published) / 4 decided
    assert may1["rejected_by_reason"] == {**dict.fromkeys(REJECT_REASONS, 0), "not_violation": 2}  # en and zh labels
    assert may1["decision_times"] == 4  # 60, 120, 180, 240 s
    assert may1["median_decision_s"] == 150.0 and may1["p90_decision_s"] == 222.0
    assert (may2["cases"], may2["approved"], may2["rejected"], may2["withdrawn"], may2["decided"]) == (4, 1, 2, 1, 4)
    assert may2["approval_share"] == 0.5  # (1 approved + 1 withdrawn after approval) / 4
    assert may2["rejected_by_reason"] == {**dict.fromkeys(REJECT_REASONS, 0), "detector_error": 1, "other": 1}
    assert may2["decision_times"] == 3  # 30 (the first of c7's two rejections), 300, 600 s; c9 has none
    assert may2["median_decision_s"] == 300.0 and may2["p90_decision_s"] == 540.0
    total = body["total"]
    assert total["day"] is None and total["cases"] == 9 and total["decided"] == 8
    assert total["decision_times"] == 7  # 30, 60, 120, 180, 240, 300, 600
    assert total["median_decision_s"] == 180.0 and total["p90_decision_s"] == 420.0


def test_rule_and_camera_groups(seeded):
    rows = _get(seeded.admin, group="camera,rule", **SPAN)["rows"]
    assert [(r["rule"], r["camera"], r["cases"]) for r in rows] == [
        ("red_light_pedestrian", "dongmen", 1), ("red_light_pedestrian", "xizhan", 1),
        ("wrong_way", "dongmen", 4), ("wrong_way", "xizhan", 3)]
    assert {r["camera_place"] for r in rows} == {"东门路口", "=West station"}
    pending_only = rows[1]
    assert pending_only["decided"] == 0 and pending_only["approval_share"] is None
    assert pending_only["median_decision_s"] is None and pending_only["decision_times"] == 0
    by_rule = _get(seeded.reviewer, group="rule", date_from="2026-05-01", date_to="2026-05-01")["rows"]
    assert [(r["rule"], r["cases"], r["camera"], r["day"]) for r in by_rule] == [
        ("red_light_pedestrian", 2, None, None), ("wrong_way", 3, None, None)]
    everything = _get(seeded.reviewer, group="camera")  # no dates: every case
    assert sum(r["cases"] for r in everything["rows"]) == len(SEED)


def test_csv_has_a_bom_english_header_and_keeps_chinese(seeded):
    r = seeded.reviewer.get("/api/stats/cases", params={"group": "rule,camera", "format": "csv", **SPAN})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=\"civicwatch-case-stats-2026-05-01")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    header = r.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == ["rule", "camera", "camera_place", "cases", "pending", "approved", "rejected", "published",
                      "withdrawn", "decided", "approval_share", *(f"rejected_{c}" for c in REJECT_REASONS),
                      "decision_times", "median_decision_s", "p90_decision_s"]
    dongmen = next(row for row in table if row["rule"] == "wrong_way" and row["camera"] == "dongmen")
    assert dongmen["camera_place"] == "东门路口"
    assert (dongmen["cases"], dongmen["rejected"], dongmen["rejected_not_violation"],
            dongmen["rejected_detector_error"], dongmen["approval_share"]) == ("4", "2", "1", "1", "0.5")
    assert dongmen["median_decision_s"] == "90.0"  # 30, 60, 120, 300 s: h = 1.5
    xizhan = next(row for row in table if row["camera"] == "xizhan" and row["rule"] == "red_light_pedestrian")
    assert xizhan["camera_place"] == "'=West station"  # a spreadsheet formula is escaped
    assert xizhan["approval_share"] == "" and xizhan["median_decision_s"] == ""
    by_accept = seeded.reviewer.get("/api/stats/cases", params={"group": "rule,camera", **SPAN},
                                    headers={"Accept": "text/csv"})
    assert by_accept.status_code == 200 and by_accept.content == r.content
    as_json = seeded.reviewer.get("/api/stats/cases", params={"format": "json"}, headers={"Accept": "text/csv"})
    assert as_json.headers["content-type"] == "application/json"


def test_only_reviewers_and_admins(seeded):
    assert seeded.anon.get("/api/stats/cases").status_code == 401
    for client in (seeded.operator, seeded.display):
        r = client.get("/api/stats/cases")
        assert r.status_code == 403 and "needs reviewer or admin" in r.json()["detail"]


@pytest.mark.parametrize(("params", "field"), [
    ({"group": "zone"}, "group"), ({"group": "rule,rule"}, "group"), ({"date_from": "1 May"}, "date_from"),
    ({"date_to": "2026-02-30"}, "date_to"), ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
    ({"format": "xlsx"}, "format")])
def test_bad_parameters_are_a_422_naming_the_field(env, params, field):
    r = env.reviewer.get("/api/stats/cases", params=params)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_answers_match_the_openapi_document(seeded):
    spec = seeded.anon.get("/openapi.json").json()
    op = spec["paths"]["/api/stats/cases"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in op["parameters"]} >= {"date_from", "date_to", "group", "format"}
    for client, params in ((seeded.reviewer, {"group": "day", **SPAN}), (seeded.reviewer, {"format": "csv"}),
                           (seeded.reviewer, {"group": "nope"}), (seeded.operator, {})):
        r = client.get("/api/stats/cases", params=params)
        conforms(spec, r, "GET", "/api/stats/cases")


def test_group_parsing():
    assert parse_group("camera,rule") == ("rule", "camera") and parse_group(None) == ("rule",)
    assert parse_group("day") == ("day",)
    with pytest.raises(ValueError):
        parse_group("rule,")


def test_sqlite_local_day_follows_daylight_saving():
    """SQLite has no zone data: the service's function converts; a fixed offset would be an hour
    out half the year (Berlin: +01:00 in winter, +02:00 in summer)."""
    assert _local_day_sqlite("2026-07-01 22:30:00", "Europe/Berlin") == "2026-07-02"
    assert _local_day_sqlite("2026-01-01 22:30:00", "Europe/Berlin") == "2026-01-01"
    assert _local_day_sqlite("2026-04-30 23:30:00.250000", "Asia/Shanghai") == "2026-05-01"
    assert _local_day_sqlite(None, "Asia/Shanghai") is None


def test_reason_codes_from_the_labels_the_page_sends():
    assert reason_code("Not a violation") == "not_violation"
    assert reason_code("不构成违法: 行人已过街") == "not_violation"
    assert reason_code("Duplicate of another case: J12-3") == "duplicate"
    assert reason_code("Not a violationX") == "other"  # a label only when whole or followed by the note
    assert reason_code("其他: 画面模糊") == "other" and reason_code("blurry") == "other"
    assert reason_code(None) is None


def test_the_review_page_offers_the_reasons_the_statistics_know():
    template = (Path(__file__).parents[2] / "service/web/templates/review.html").read_text(encoding="utf-8")
    listed = "[" + ",".join(f"'{code}'" for code in REJECT_REASONS) + "]"
    assert template.count(listed) == 2  # the reject dialog and the bulk reject dialog
