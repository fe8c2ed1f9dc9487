"""The audit log: who did what to which object, when, and from where."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditEntry, utcnow
from service.security import Principal


def client_ip(request: Request) -> str | None:
    """The peer's address, or with ``trust_forwarded_for`` the last ``X-Forwarded-For`` entry: the
    one the service's own proxy appended. Entries before it are whatever the client sent (a proxy
    appends to the header it received), so the first one is the client's own claim."""
    if request.app.state.settings.trust_forwarded_for:
        fwd = request.headers.get("x-forwarded-for")
        last = fwd.split(",")[-1].strip() if fwd else ""
        if last:
            return last[:64]
    return request.client.host if request.client else None


def record(db: Session, request: Request | None, actor: Principal | str, action: str,
           object_type: str | None = None, object_id: Any = None, **details: Any) -> AuditEntry:
    """Add an entry to the caller's transaction (it commits with the change it describes)."""
    if isinstance(actor, Principal):
        name, role = actor.actor, actor.role
    else:
        name, role = actor, None
    entry = AuditEntry(actor=name, actor_role=role, action=action, object_type=object_type,
                       object_id=None if object_id is None else str(object_id), details=details,
                       ip=client_ip(request) if request is not None else None)
    db.add(entry)
    return entry


OBJECT_ID_LENGTH = 160  # AuditEntry.object_id's column


def joined_ids(ids: list[str], limit: int = OBJECT_ID_LENGTH) -> list[str]:
    """``ids`` joined with commas, in as many parts as it takes for each to fit ``limit``.

    An action on several cases is found by each of its cases (``audit_log.case_conditions`` matches
    one id among the commas). Cut to the column's length instead, the entry of a big export named
    only its first cases, and the last id, cut part-way, could read as another case's id.
    """
    parts: list[str] = []
    current = ""
    for i in ids:
        if len(i) > limit:
            raise ValueError(f"id longer than {limit} characters: {i[:40]}...")
        candidate = f"{current},{i}" if current else i
        if len(candidate) > limit:
            parts.append(current)
            candidate = i
        current = candidate
    if current:
        parts.append(current)
    return parts


def seen_recently(db: Session, actor: Principal, action: str, object_type: str, object_id: str,
                  window_s: int, **details: Any) -> bool:
    """True when the same actor logged the same view within the window (player range requests)."""
    if window_s <= 0:
        return False
    since = utcnow() - timedelta(seconds=window_s)
    rows = db.scalars(select(AuditEntry).where(
        AuditEntry.actor == actor.actor, AuditEntry.action == action, AuditEntry.object_type == object_type,
        AuditEntry.object_id == object_id, AuditEntry.at >= since)).all()
    return any(all(r.details.get(k) == v for k, v in details.items()) for r in rows)
