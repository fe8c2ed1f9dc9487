"""Reading and exporting the audit log (admin).

The list and the CSV take the same filters (who, action, case, object, local dates) from one
dependency, so what the admin page shows is what the export contains. Times are in the
installation's zone (the ``timezone`` setting), with their offset; action codes come with their
names in the reader's language.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service import audit, local_time
from service.api.common import MAX_OFFSET, MAX_ROW_ID, iso
from service.audit_actions import action_name
from service.errors import responses
from service.models import AuditEntry, Case, utcnow
from service.security import Principal, get_db, require_roles
from service.web.pages import request_language

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=responses(401, 403))
admins = require_roles("admin")

Lang = Literal["zh-CN", "en"]
MAX_LIMIT = 1000
# The CSV starts with a byte-order mark: Excel reads a BOM-less CSV in the machine's legacy code
# page, and every Chinese user name, place or reason turns into mojibake.
BOM = "\ufeff"


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    case: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    until_id: int | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def audit_filter(
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            description="an action code (`case.approve`); `*` matches anything (`case.*`)",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            max_length=160,
            description="who: a user name or `token:<name>#<id>`; `*` matches anything",
        ),
    ] = None,
    case: Annotated[
        str | None,
        Query(
            max_length=160,
            description="a case id or public case number: the entries about that case, exports that included it among them",
        ),
    ] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=160)] = None,
    date_from: Annotated[
        str | None,
        Query(
            description="a date (YYYY-MM-DD: from the start of that day in the installation's zone) or an ISO 8601 time with an offset"
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            description="a date (YYYY-MM-DD: to the end of that day in the installation's zone) or an ISO 8601 time with an offset; included"
        ),
    ] = None,
    until_id: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_ROW_ID,
            description="only entries up to this id: pass the first page's `until_id` when paging, so entries logged meanwhile do not shift the pages",
        ),
    ] = None,
) -> AuditFilter:
    return AuditFilter(
        action, actor, case, object_type, object_id, date_from, date_to, until_id
    )


Db = Annotated[Session, Depends(get_db)]
Admin = Annotated[Principal, Depends(admins)]
Filter = Annotated[AuditFilter, Depends(audit_filter)]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _match(column: Any, value: str) -> ColumnElement[bool]:
    """Equality, or a LIKE where ``*`` is the only wildcard (``%`` and ``_`` are matched as typed)."""
    if "*" not in value:
        return column == value
    return column.like(_like(value).replace("*", "%"), escape="\\")


def case_conditions(db: Session, value: str) -> ColumnElement[bool]:
    """The entries on one case, its exports with other cases included (also a case's export history)."""
    # A public number (what a screen or a citizen quotes) names the same case as its id.
    case_id = db.scalar(select(Case.id).where(Case.public_number == value)) or value
    lit = _like(case_id)
    in_export = and_(
        AuditEntry.action == "case.export",
        or_(
            AuditEntry.object_id.like(f"{lit},%", escape="\\"),
            AuditEntry.object_id.like(f"%,{lit}", escape="\\"),
            AuditEntry.object_id.like(f"%,{lit},%", escape="\\"),
        ),
    )
    return and_(
        AuditEntry.object_type == "case",
        or_(AuditEntry.object_id == case_id, in_export),
    )


EXPORT_MATCH_CHUNK = 200  # case ids per statement: an OR of LIKEs this long stays inside SQLite's expression depth


def entries_of_cases(db: Session, case_ids: list[str]) -> dict[str, list[AuditEntry]]:
    """Every entry on each case, oldest first, its exports with other cases included: what
    ``case_conditions`` selects for one case, for many at once. An export's history asked it case
    by case, two statements each (a 500-case export: a thousand statements, each a LIKE scan of
    the log). A joined export entry names its cases separated by commas (``audit.joined_ids``)."""
    wanted = set(case_ids)
    by_id: dict[int, AuditEntry] = {}
    for start in range(0, len(case_ids), EXPORT_MATCH_CHUNK):
        part = case_ids[start:start + EXPORT_MATCH_CHUNK]
        in_export = and_(AuditEntry.action == "case.export",
                         or_(*(AuditEntry.object_id.like(f"%{_like(i)}%", escape="\\") for i in part)))
        query = select(AuditEntry).where(AuditEntry.object_type == "case",
                                         or_(AuditEntry.object_id.in_(part), in_export))
        by_id.update((e.id, e) for e in db.scalars(query))
    found: dict[str, list[AuditEntry]] = {i: [] for i in case_ids}
    for entry in sorted(by_id.values(), key=lambda e: (e.at, e.id)):
        named = entry.object_id.split(",") if entry.action == "case.export" else [entry.object_id]
        for case_id in dict.fromkeys(named):
            if case_id in wanted:
                found[case_id].append(entry)
    return found


def conditions(db: Session, f: AuditFilter, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.action:
        conds.append(_match(AuditEntry.action, f.action))
    if f.actor:
        conds.append(_match(AuditEntry.actor, f.actor))
    if f.case:
        conds.append(case_conditions(db, f.case.strip()))
    if f.object_type:
        conds.append(AuditEntry.object_type == f.object_type)
    if f.object_id:
        conds.append(AuditEntry.object_id == f.object_id)
    span = local_time.span(f.date_from, f.date_to, tz)
    if span.start is not None:
        conds.append(AuditEntry.at >= span.start)
    if span.end is not None:
        conds.append(
            AuditEntry.at <= span.end
            if span.end_inclusive
            else AuditEntry.at < span.end
        )
    if f.until_id is not None:
        conds.append(AuditEntry.id <= f.until_id)
    return conds


# A spreadsheet treats a cell starting with these as a formula (=HYPERLINK(...) in a failed login's
# user name would become a live link, or worse, on the administrator's machine).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe (OWASP's advice); the
    apostrophe is shown, not executed, so the original text stays readable."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class AuditItem(BaseModel):
    id: int
    at: str = Field(description="when, UTC (ISO 8601)")
    at_local: str = Field(
        description="when, in the installation's zone with its offset (ISO 8601)"
    )
    actor: str = Field(
        description="a user name, `token:<name>#<id>`, `system` or `cli`; for a failed login the name tried"
    )
    actor_role: str | None
    action: str = Field(description="the machine code, e.g. `case.approve`")
    action_name: str = Field(
        description="the action in words in the requested language, e.g. `Approved case` / `批准案件`"
    )
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditItem] = Field(description="newest first")
    total: int = Field(
        description="entries matching the filters (up to `until_id`), on all pages"
    )
    limit: int
    offset: int
    until_id: int | None = Field(
        description="the newest entry this paging covers; pass it back for the next pages"
    )
    timezone: str = Field(
        description="the installation's IANA zone that `at_local` and date filters use"
    )
    lang: Lang


def entry_item(e: AuditEntry, tz: ZoneInfo, lang: str) -> AuditItem:
    return AuditItem(
        id=e.id,
        at=iso(e.at),
        at_local=local_time.local_iso(e.at, tz),
        actor=e.actor,
        actor_role=e.actor_role,
        action=e.action,
        action_name=action_name(e.action, lang),
        object_type=e.object_type,
        object_id=e.object_id,
        details=e.details or {},
        ip=e.ip,
    )


def _zone(request: Request) -> ZoneInfo:
    return local_time.zone(request.app.state.settings.timezone)


@router.get("", response_model=AuditPage)
def list_audit(
    request: Request,
    db: Db,
    _: Admin,
    f: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    lang: Lang | None = None,
) -> AuditPage:
    """Audit entries, newest first, one page at a time, with the total over all pages."""
    tz, lang = _zone(request), lang or request_language(request)
    conds = conditions(db, f, tz)
    until = f.until_id
    if until is None:  # the first page pins the newest entry; later pages pass it back
        until = db.scalar(select(func.max(AuditEntry.id)))
        if until is not None:
            conds.append(AuditEntry.id <= until)
    total = db.scalar(select(func.count()).select_from(AuditEntry).where(*conds)) or 0
    rows = db.scalars(
        select(AuditEntry)
        .where(*conds)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return AuditPage(
        items=[entry_item(e, tz, lang) for e in rows],
        total=total,
        limit=limit,
        offset=offset,
        until_id=until,
        timezone=tz.key,
        lang=lang,
    )


CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_role",
    "action",
    "action_name",
    "object_type",
    "object_id",
    "ip",
    "details",
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "UTF-8 CSV with a byte-order mark, oldest entry first; `at` is local time with its offset",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def export_audit(
    request: Request, db: Db, who: Admin, f: Filter, lang: Lang | None = None
) -> StreamingResponse:
    """The filtered log as CSV for a spreadsheet: a byte-order mark so Excel reads UTF-8 (Chinese
    names), times in the installation's zone with the offset, the action's code and its name in
    words, and cells that a spreadsheet would run as a formula escaped."""
    tz, lang = _zone(request), lang or request_language(request)
    q = (
        select(AuditEntry)
        .where(*conditions(db, f, tz))
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    audit.record(db, request, who, "audit.export", "audit", None, filters=f.given())
    db.commit()
    factory = request.app.state.session_factory

    def rows():
        buf = io.StringIO()
        buf.write(BOM)
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        with factory() as s:
            for e in s.scalars(q.execution_options(yield_per=500)):
                writer.writerow(
                    [
                        csv_cell(v)
                        for v in (
                            e.id,
                            local_time.local_iso(e.at, tz),
                            e.actor,
                            e.actor_role,
                            e.action,
                            action_name(e.action, lang),
                            e.object_type,
                            e.object_id,
                            e.ip,
                            json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                        )
                    ]
                )
                if buf.tell() > 64 * 1024:
                    yield buf.getvalue().encode("utf-8")
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue().encode("utf-8")

    name = f"civicwatch-audit-{utcnow().astimezone(tz):%Y%m%dT%H%M%S%z}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
