"""Review statistics (``GET /api/stats/cases``): the figures of ``service.case_stats`` as JSON, or
as a CSV table for a spreadsheet (``Accept: text/csv`` or ``?format=csv``)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service import local_time
from service.api.audit_log import BOM, csv_cell
from service.case_stats import GROUP_KEYS, StatsRow, case_stats, parse_group
from service.errors import ApiError, responses
from service.models import CASE_STATES
from service.reject_reasons import REJECT_REASONS
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/stats", tags=["statistics"], responses=responses(401, 403))
reviewers = require_roles("reviewer", "admin")
CSV = "text/csv"

GROUP_HELP = ("what a row is: `rule`, `camera`, `day` (the local day of the case's start in the installation's "
              "zone) or a combination, comma-separated (`rule,camera`)")
DATE_HELP = ("a date (YYYY-MM-DD: a whole day in the installation's zone, included) or an ISO 8601 time with an "
             "offset, as in `GET /api/cases`; cases count by their start time")


class StatsOut(BaseModel):
    """One row of the table: a group's figures (README, "Review statistics")."""

    rule: str | None = Field(description="the rule's code; null unless grouped by rule")
    camera: str | None = Field(description="the camera's id; null unless grouped by camera")
    camera_place: str | None = Field(description="the camera's place as entered (often Chinese); with camera only")
    day: str | None = Field(description="YYYY-MM-DD, local day of the cases' start; null unless grouped by day")
    cases: int = Field(description="cases raised (every state)")
    pending: int
    approved: int = Field(description="approved and not (yet) published")
    rejected: int
    published: int
    withdrawn: int = Field(description="withdrawn after approval or publication")
    decided: int = Field(description="approved + rejected + published + withdrawn")
    approval_share: float | None = Field(
        description="(approved + published + withdrawn) / decided, 0..1; null when nothing was decided")
    rejected_by_reason: dict[str, int] = Field(
        description=f"rejected cases per reason: {', '.join(REJECT_REASONS)} (`other`: the page's Other and any "
                    "reason in words of its own)")
    decision_times: int = Field(description="cases with a first decision in the audit log (the percentiles' sample)")
    median_decision_s: float | None = Field(
        description="median seconds from the case's creation to its first approval or rejection")
    p90_decision_s: float | None = Field(description="90th percentile of the same, interpolated as percentile_cont")


class CaseStatsOut(BaseModel):
    group: list[Literal["rule", "camera", "day"]]
    date_from: str | None
    date_to: str | None
    timezone: str = Field(description="the installation's IANA zone that dates and `day` are in")
    reasons: list[str] = Field(description="the reject reason codes, in the order of the CSV's columns")
    rows: list[StatsOut] = Field(description="one per group with cases, ordered by the group columns")
    total: StatsOut = Field(description="the same figures over every case of the span (group columns null)")


def _out(row: StatsRow) -> StatsOut:
    share = row.approval_share
    return StatsOut(rule=row.rule, camera=row.camera, camera_place=row.camera_place, day=row.day, cases=row.cases,
                    **row.states, decided=row.decided, approval_share=None if share is None else round(share, 4),
                    rejected_by_reason=row.rejected_by_reason, decision_times=row.decision_times,
                    median_decision_s=_seconds(row.median_decision_s), p90_decision_s=_seconds(row.p90_decision_s))


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def csv_header(group: tuple[str, ...]) -> list[str]:
    """The CSV's columns (English, documented in the README): the group's, then the figures."""
    names = [k for k in GROUP_KEYS if k in group]
    if "camera" in group:
        names.insert(names.index("camera") + 1, "camera_place")
    return [*names, "cases", *CASE_STATES, "decided", "approval_share",
            *(f"rejected_{r}" for r in REJECT_REASONS), "decision_times", "median_decision_s", "p90_decision_s"]


def _csv_body(out: CaseStatsOut) -> bytes:
    group = tuple(out.group)
    header = csv_header(group)
    buf = io.StringIO()
    buf.write(BOM)  # so Excel reads UTF-8 (a Chinese place) instead of the machine's legacy code page
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in out.rows:
        flat = row.model_dump()
        flat.update({f"rejected_{r}": n for r, n in row.rejected_by_reason.items()})
        writer.writerow([csv_cell("" if flat[c] is None else flat[c]) for c in header])
    return buf.getvalue().encode("utf-8")


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip().lower() == CSV for part in accept.split(","))


@router.get("/cases", response_model=CaseStatsOut, responses={
    200: {"description": "the table as JSON, or (`Accept: text/csv`, `format=csv`) as UTF-8 CSV with a byte-order "
                         "mark, one line per row, English column names (README)",
          "content": {CSV: {"schema": {"type": "string"}}}},
    **responses(422)})
def case_statistics(request: Request, db: Session = Depends(get_db), _: Principal = Depends(reviewers),
                    date_from: Annotated[str | None, Query(max_length=40, description=DATE_HELP)] = None,
                    date_to: Annotated[str | None, Query(max_length=40, description=DATE_HELP)] = None,
                    group: Annotated[str, Query(max_length=40, description=GROUP_HELP)] = "rule",
                    format: Annotated[Literal["json", "csv"] | None, Query(
                        description="`csv` for the CSV whatever `Accept` says")] = None) -> Response:
    """Per rule, camera and/or local day: cases per state, rejections per reason, the approval share of
    decided cases and the time to the first decision (median, 90th percentile).

    ``approval_share`` = (approved + published + withdrawn) / (approved + rejected + published +
    withdrawn), states as they are now; a case is withdrawn only after approval, so withdrawn cases
    were judged real offences. None when nothing was decided. The time to the first decision runs
    from the case's creation to its earliest ``case.approve`` / ``case.reject`` audit entry.
    Every definition: ``service.case_stats`` and the README ("Review statistics")."""
    try:
        keys = parse_group(group)
    except ValueError as err:
        raise ApiError(422, f"group: {err}") from None
    tz = local_time.zone(request.app.state.settings.timezone)
    span = local_time.span(date_from, date_to, tz)
    rows, total = case_stats(db, span, tz, keys)
    out = CaseStatsOut(group=list(keys), date_from=date_from, date_to=date_to, timezone=tz.key,
                       reasons=list(REJECT_REASONS), rows=[_out(r) for r in rows], total=_out(total))
    if _wants_csv(request, format):
        name = "civicwatch-case-stats-{}-{}-{}.csv".format(date_from or "start", date_to or "now", "-".join(keys))
        return Response(_csv_body(out), media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_safe(name)}"'})
    return Response(out.model_dump_json().encode(), media_type="application/json")


def _safe(name: str) -> str:
    """A file name from the query's dates: only the characters a date or time can hold."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
