"""Review statistics: per rule, camera and/or local day, how many cases were raised, what the
reviewers decided, why they rejected, and how long a case waited for its first decision.

The reviewers' decisions are the best measure of the detector's precision in the field, so the
figures are defined once here (the API, its CSV and the admin page show these) and computed by
the database in a few aggregate statements, never by reading every case: 20,000 cases a month on
PostgreSQL stay a matter of milliseconds.

Definitions (README, "Review statistics"):

- A case counts in the span by its start time (``Case.start_time``, when the offence happened),
  filtered as the review queue filters it (``service.local_time.span``); ``day`` is the case's
  start as a date in the installation's zone.
- Counts per state are the states *now*: a case rejected and reopened is pending again.
- ``decided`` = approved + rejected + published + withdrawn. ``approval_share`` = (approved +
  published + withdrawn) / decided: a case is only ever withdrawn after it was approved (from
  approved or published, ``service.api.cases.TRANSITIONS``), so all three are cases a reviewer
  judged a real offence. None when nothing was decided.
- ``rejected_by_reason``: the rejected cases per reason code, as stored with the rejection
  (``Case.reject_reason_code``), so rewording a reason's label changes no count. A rejected row
  without one (written outside the service) counts by its text, as ``service.reject_reasons``
  reads it.
- Time to first decision: from the case's creation (``Case.created_at``, when it entered the
  queue) to the earliest ``case.approve`` or ``case.reject`` entry of the audit log for it, even
  one undone since. The audit log, because ``Case.decided_at`` is rewritten by publication and
  withdrawal and cleared by an undo or a reopening. Cases with no such entry (pending ones, rows
  decided outside the service) have no time; ``decision_times`` says how many had one. Median and
  90th percentile are interpolated between the nearest ranks as PostgreSQL's ``percentile_cont``
  does: with the n times sorted, the p-th percentile sits at rank h = (n - 1) * p (0-based), between
  the times at floor(h) and ceil(h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from service.local_time import Span
from service.models import CASE_STATES, AuditEntry, Camera, Case
from service.reject_reasons import REJECT_REASONS, reason_code_sql

GROUP_KEYS: tuple[str, ...] = ("rule", "camera", "day")  # the order of the group columns, whatever was asked
DECISIONS = ("case.approve", "case.reject")  # a reviewer's first judgement of a case
APPROVED_STATES = ("approved", "published", "withdrawn")
PERCENTILES = {"median": 50, "p90": 90}  # whole percent: the ranks are found in integer arithmetic


@dataclass
class StatsRow:
    """The figures of one group (``rule`` / ``camera`` / ``day`` None where not grouped by)."""

    rule: str | None = None
    camera: str | None = None
    camera_place: str | None = None
    day: str | None = None
    cases: int = 0
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CASE_STATES, 0))
    rejected_by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))
    decision_times: int = 0
    median_decision_s: float | None = None
    p90_decision_s: float | None = None

    @property
    def decided(self) -> int:
        return self.cases - self.states["pending"]

    @property
    def approval_share(self) -> float | None:
        decided = self.decided
        return sum(self.states[s] for s in APPROVED_STATES) / decided if decided else None


def parse_group(value: str | None) -> tuple[str, ...]:
    """``rule``, ``camera``, ``day`` or a comma-separated combination (``rule,camera``), in the
    canonical order; a ValueError naming what is wrong."""
    asked = [p.strip() for p in (value or "rule").split(",")]
    bad = [p for p in asked if p not in GROUP_KEYS]
    if bad or not asked:
        raise ValueError(f"unknown {bad}; one or more of {', '.join(GROUP_KEYS)}, comma-separated (rule,camera)")
    if len(set(asked)) != len(asked):
        raise ValueError(f"{value!r} names a grouping twice")
    return tuple(k for k in GROUP_KEYS if k in asked)


def _local_day_sqlite(value: str | None, zone_name: str) -> str | None:
    """SQLite's stand-in for PostgreSQL's ``AT TIME ZONE``: the stored naive-UTC text as a local date."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(ZoneInfo(zone_name)).date().isoformat()


def _local_day(db: Session, column: ColumnElement, tz: ZoneInfo) -> ColumnElement:
    """The date, in ``tz``, of a naive-UTC column. PostgreSQL converts with its own zone data;
    SQLite has none, so the connection gets a function that converts with Python's (daylight
    saving included, which a fixed offset would get wrong half the year)."""
    if db.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(tz.key, func.timezone("UTC", column)), Date)
    raw = db.connection().connection.driver_connection
    raw.create_function("cw_local_day", 2, _local_day_sqlite, deterministic=True)
    return func.cw_local_day(column, tz.key)


def _seconds_between(db: Session, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _span_conditions(span: Span) -> list[ColumnElement]:
    """As the review queue's ``date_from`` / ``date_to`` (``service.api.cases._case_page``)."""
    conds = []
    if span.start is not None:
        conds.append(Case.start_time >= span.start)
    if span.end is not None:
        conds.append(Case.start_time <= span.end if span.end_inclusive else Case.start_time < span.end)
    return conds


def _cases(db: Session, span: Span, tz: ZoneInfo, group: Sequence[str]):  # noqa: ANN202
    """The cases of the span with their group columns, as a subquery: grouping by its labels keeps
    PostgreSQL from seeing the day's expression (with its zone as a parameter) as two expressions."""
    columns = {"rule": Case.rule, "camera": Case.camera_id, "day": _local_day(db, Case.start_time, tz)}
    return (select(Case.id, Case.state, Case.reason, Case.reject_reason_code, Case.created_at,
                   *(columns[k].label(k) for k in group))
            .where(*_span_conditions(span)).subquery("c"))


def _counts(db: Session, cases, group: Sequence[str]) -> dict[tuple, StatsRow]:  # noqa: ANN001
    keys = [cases.c[k] for k in group]
    code = func.coalesce(cases.c.reject_reason_code, reason_code_sql(cases.c.reason))

    def count(*conds: ColumnElement) -> ColumnElement:
        return func.coalesce(func.sum(case((and_(*conds), 1), else_=0)), 0)

    q = select(*keys, func.count(), *(count(cases.c.state == s) for s in CASE_STATES),
               *(count(cases.c.state == "rejected", code == r) for r in REJECT_REASONS))
    if keys:
        q = q.group_by(*keys)
    rows: dict[tuple, StatsRow] = {}
    for r in db.execute(q):
        key = tuple(_text(v) for v in r[:len(keys)])
        figures = [int(v or 0) for v in r[len(keys):]]
        states, reasons = figures[1:1 + len(CASE_STATES)], figures[1 + len(CASE_STATES):]
        rows[key] = StatsRow(**dict(zip(group, key)), cases=figures[0], states=dict(zip(CASE_STATES, states)),
                             rejected_by_reason=dict(zip(REJECT_REASONS, reasons)))
    return rows


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _decision_percentiles(db: Session, cases, group: Sequence[str]) -> dict[tuple, tuple[int, dict[str, float]]]:  # noqa: ANN001
    """Per group: how many cases have a first decision, and the percentiles of its delay. The
    database ranks the delays (window functions, on both databases) and hands back only the two
    ranks around each percentile, so Python interpolates a handful of numbers per group."""
    first = (select(AuditEntry.object_id.label("case_id"), func.min(AuditEntry.at).label("at"))
             .where(AuditEntry.object_type == "case", AuditEntry.action.in_(DECISIONS),
                    AuditEntry.object_id.in_(select(cases.c.id)))
             .group_by(AuditEntry.object_id).subquery("first_decision"))
    waited = (select(*(cases.c[k] for k in group),
                     _seconds_between(db, first.c.at, cases.c.created_at).label("s"))
              .join_from(cases, first, first.c.case_id == cases.c.id).subquery("waited"))
    keys = [waited.c[k] for k in group]
    partition = keys or None
    ranked = select(*keys, waited.c.s,
                    func.row_number().over(partition_by=partition, order_by=waited.c.s).label("rn"),
                    func.count().over(partition_by=partition).label("n")).subquery("ranked")
    n = ranked.c.n
    wanted = []
    for p in PERCENTILES.values():  # ranks 1-based: floor(h) + 1 and ceil(h) + 1, h = (n - 1) * p / 100
        wanted += [ranked.c.rn == (n - 1) * p // 100 + 1, ranked.c.rn == ((n - 1) * p + 99) // 100 + 1]
    q = select(*(ranked.c[k] for k in group), ranked.c.n, ranked.c.rn, ranked.c.s).where(or_(*wanted))
    found: dict[tuple, tuple[int, dict[int, float]]] = {}
    for r in db.execute(q):
        key = tuple(_text(v) for v in r[:len(group)])
        count, rank, seconds = int(r[-3]), int(r[-2]), float(r[-1])
        found.setdefault(key, (count, {}))[1][rank] = seconds
    out = {}
    for key, (count, at_rank) in found.items():
        values = {}
        for name, p in PERCENTILES.items():
            h = (count - 1) * p / 100
            lo, hi = at_rank[math.floor(h) + 1], at_rank[math.ceil(h) + 1]
            values[name] = lo + (h - math.floor(h)) * (hi - lo)
        out[key] = (count, values)
    return out


def _sum(rows: Sequence[StatsRow]) -> StatsRow:
    """The totals of the counts: the groups split the span's cases, so their sums are exact."""
    total = StatsRow(cases=sum(r.cases for r in rows))
    for r in rows:
        for s, n in r.states.items():
            total.states[s] += n
        for code, n in r.rejected_by_reason.items():
            total.rejected_by_reason[code] += n
    return total


def case_stats(db: Session, span: Span, tz: ZoneInfo, group: Sequence[str]) -> tuple[list[StatsRow], StatsRow]:
    """The rows of the grouping, ordered by their group columns, and the totals over the span
    (three statements, a fourth for the cameras' places)."""
    cases = _cases(db, span, tz, group)
    grouped = _counts(db, cases, group)
    total = _sum(list(grouped.values()))
    times = [(grouped, _decision_percentiles(db, cases, group)),
             ({(): total}, _decision_percentiles(db, _cases(db, span, tz, ()), ()))]
    for rows, percentiles in times:
        for key, (count, values) in percentiles.items():
            row = rows.get(key)
            if row is not None:
                row.decision_times = count
                row.median_decision_s = values["median"]
                row.p90_decision_s = values["p90"]
    if "camera" in group:
        places = dict(db.execute(select(Camera.id, Camera.place).where(
            Camera.id.in_({r.camera for r in grouped.values() if r.camera is not None}))).all())
        for row in grouped.values():
            row.camera_place = places.get(row.camera)
    ordered = [grouped[k] for k in sorted(grouped, key=lambda k: tuple((v is None, v or "") for v in k))]
    return ordered, total
