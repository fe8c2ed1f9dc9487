"""Reading and exporting the audit log (admin)."""

from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.api.common import Offset, iso, parse_when
from service.models import AuditEntry, utcnow
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/audit", tags=["audit"])
admins = require_roles("admin")


def _query(action: str | None, actor: str | None, object_type: str | None, object_id: str | None,
           date_from: str | None, date_to: str | None):
    q = select(AuditEntry)
    if action:
        q = q.where(AuditEntry.action.like(action.replace("*", "%")))
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if object_id:
        q = q.where(AuditEntry.object_id == object_id)
    lo, hi = parse_when(date_from, "date_from"), parse_when(date_to, "date_to")
    if lo:
        q = q.where(AuditEntry.at >= lo)
    if hi:
        q = q.where(AuditEntry.at <= hi)
    return q


# A spreadsheet treats a cell starting with these as a formula (=HYPERLINK(...) in a failed login's
# user name would become a live link, or worse, on the administrator's machine).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe (OWASP's advice); the
    apostrophe is shown, not executed, so the original text stays readable."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def entry_json(e: AuditEntry) -> dict:
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "actor_role": e.actor_role, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "details": e.details, "ip": e.ip}


@router.get("")
def list_audit(db: Session = Depends(get_db), _: Principal = Depends(admins), action: str | None = None,
               actor: str | None = None, object_type: str | None = None, object_id: str | None = None,
               date_from: str | None = None, date_to: str | None = None, limit: int = 100, offset: Offset = 0) -> dict:
    q = _query(action, actor, object_type, object_id, date_from, date_to)
    rows = db.scalars(q.order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000))).offset(max(0, offset)))
    return {"items": [entry_json(e) for e in rows]}


@router.get("/export")
def export_audit(request: Request, db: Session = Depends(get_db), who: Principal = Depends(admins),
                 action: str | None = None, actor: str | None = None, object_type: str | None = None,
                 object_id: str | None = None, date_from: str | None = None, date_to: str | None = None):
    q = _query(action, actor, object_type, object_id, date_from, date_to).order_by(AuditEntry.id)
    audit.record(db, request, who, "audit.export", "audit", None)
    db.commit()
    factory = request.app.state.session_factory

    def rows():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "at", "actor", "actor_role", "action", "object_type", "object_id", "ip", "details"])
        with factory() as s:
            for e in s.scalars(q.execution_options(yield_per=500)):
                writer.writerow([csv_cell(v) for v in (
                    e.id, iso(e.at), e.actor, e.actor_role, e.action, e.object_type, e.object_id, e.ip,
                    json.dumps(e.details, ensure_ascii=False, sort_keys=True))])
                if buf.tell() > 64 * 1024:
                    yield buf.getvalue().encode("utf-8")
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue().encode("utf-8")

    name = f"civicwatch-audit-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
