"""The review queue's rows, read without loading whole cases.

A case row carries the pipeline's whole case record (``data``: the offender's track, the path,
the sheet layout; kilobytes each, more on long tracks) and its evidence hashes. The queue shows
none of that, yet loading 50 ``Case`` objects decoded every JSON column of every row, about
two thirds of the list request's time. Here the list reads only the columns the summary shows,
and the two keys of ``data`` and ``evidence`` it needs are extracted by the database
(``json_extract`` on SQLite, ``->>`` on PostgreSQL); plate corrections are read, in one query,
only for the rows that have any.

``CaseRow`` has the attributes ``service.api.common.case_summary`` reads, so the list items are
built by the same function as every other case summary (a test compares the two for every case).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from service.models import Case, PlateCorrection

# The case columns a summary shows, as they are.
_COLUMNS = (
    Case.id,
    Case.pipeline_id,
    Case.job_id,
    Case.camera_id,
    Case.rule,
    Case.zone,
    Case.start_s,
    Case.end_s,
    Case.start_time,
    Case.object_class,
    Case.track_ids,
    Case.confidence,
    Case.explanation,
    Case.state,
    Case.reason,
    Case.reject_reason_code,
    Case.reviewer,
    Case.decided_at,
    Case.created_at,
    Case.updated_at,
    Case.plate,
    Case.scene_version_id,
)
# The few keys of the JSON records it shows: {attribute: {key: expression}}.
_EXTRACTED = {
    "data": {
        "start_time": Case.data["start_time"].as_string(),
        "explanation_zh": Case.data["explanation_zh"].as_string(),
    },
    "evidence": {"snapshot": Case.evidence["snapshot"].as_string()},
}
# Whether the case has plate corrections: few do, so they are fetched only for those.
_CORRECTED = exists().where(PlateCorrection.case_id == Case.id).label("corrected")


@dataclass(slots=True)
class CaseRow:
    """A case as the queue sees it: ``data`` and ``evidence`` hold only the extracted keys."""

    id: str
    pipeline_id: str
    job_id: int
    camera_id: str
    rule: str
    zone: str | None
    start_s: float
    end_s: float
    start_time: datetime | None
    object_class: str | None
    track_ids: list[Any]
    confidence: float
    explanation: str
    state: str
    reason: str | None
    reject_reason_code: str | None
    reviewer: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime  # the case's version (``service.api.common.case_version``)
    plate: dict[str, Any] | None
    scene_version_id: int | None  # the scene it was judged by (``service.display_names``)
    data: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    plate_corrections: list[PlateCorrection] = field(default_factory=list)


def summary_rows(db: Session, stmt: Select) -> list[CaseRow]:
    """Run ``stmt`` (a ``select(Case)`` with its filters, order and paging) for the summary's
    columns only."""
    extracted = [(attr, key, expr) for attr, keys in _EXTRACTED.items() for key, expr in keys.items()]
    cols = [*_COLUMNS, *(expr.label(f"{attr}__{key}") for attr, key, expr in extracted), _CORRECTED]
    n = len(_COLUMNS)
    rows, corrected = [], []
    for values in db.execute(stmt.with_only_columns(*cols, maintain_column_froms=True)):
        row = CaseRow(*values[:n])
        for (attr, key, _), value in zip(extracted, values[n:-1]):
            if value is not None:
                getattr(row, attr)[key] = value
        rows.append(row)
        if values[-1]:
            corrected.append(row)
    if corrected:
        fixes: dict[str, list[PlateCorrection]] = defaultdict(list)
        for fix in db.scalars(
            select(PlateCorrection)
            .where(PlateCorrection.case_id.in_([r.id for r in corrected]))
            .order_by(PlateCorrection.id)
        ):
            fixes[fix.case_id].append(fix)
        for row in corrected:
            row.plate_corrections = fixes[row.id]
    return rows
