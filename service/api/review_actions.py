"""Review at volume: bulk decisions, undoing a decision within a short window, reopening a
rejected case. Every change is one audit entry per case, like a decision made one at a time.

Bulk decisions go through the same route functions as single decisions (``cases.approve`` /
``cases.reject``), so integrity checks, publication media and audit stay in one place.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from service import audit
from service.api import cases as case_routes
from service.api.case_schema import CaseSummary
from service.api.common import ApiModel, case_summary, iso
from service.errors import DEFAULT_CODES, ApiError, responses
from service.models import Case, utcnow
from service.reject_reasons import RejectReason
from service.security import Principal, get_db
from service.undo_window import UNDOABLE, undo_until

router = APIRouter(prefix="/api/cases", tags=["cases"], responses=responses(401, 403))

class BulkIn(ApiModel):
    ids: list[str] = Field(min_length=1, max_length=200)
    action: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=2000)  # required for reject (but with a reason_code)
    reason_code: RejectReason | None = Field(default=None, description="to reject: " + case_routes.REASON_CODE_HELP)


class BulkResult(BaseModel):
    id: str
    ok: bool
    state: str | None = None
    status: int = 200
    code: str | None = None
    message: str | None = None


class BulkOut(BaseModel):
    action: str
    done: int
    failed: int
    results: list[BulkResult]


@router.post("/bulk", response_model=BulkOut)
def bulk_decide(body: BulkIn, request: Request, db: Session = Depends(get_db),
                who: Principal = Depends(case_routes.reviewers)) -> BulkOut:
    """Decide many cases at once. Each case is decided (and committed, and audited) on its own, so
    one case that cannot be decided (already decided by someone else, evidence failing its
    integrity check) does not stop the rest; the answer says what happened to each."""
    reason = (body.reason or "").strip()
    if body.action == "reject":
        case_routes.rejection_reason(reason, body.reason_code)  # the 422s before any case is decided
    elif body.reason_code is not None:
        raise ApiError(422, "reason_code: only when rejecting", code="invalid_input")
    results: list[BulkResult] = []
    for case_id in dict.fromkeys(body.ids):
        try:
            if body.action == "approve":
                out = case_routes.approve(case_id, request, case_routes.OptionalReasonIn(reason=reason or None), db, who)
            else:
                out = case_routes.reject(case_id, request,
                                         case_routes.RejectIn(reason=reason, reason_code=body.reason_code), db, who)
            results.append(BulkResult(id=case_id, ok=True, state=out["state"]))
        except ApiError as err:
            db.rollback()
            # the code the single-case route would answer with (a 404 carries the status's default)
            code = err.extra.get("code") or DEFAULT_CODES.get(err.status)
            results.append(BulkResult(id=case_id, ok=False, status=err.status, code=code,
                                      message=err.detail, state=err.extra.get("state")))
    done = sum(r.ok for r in results)
    return BulkOut(action=body.action, done=done, failed=len(results) - done, results=results)


def _back_to_pending(db: Session, case: Case) -> None:
    """Conditional UPDATE (the row unchanged since read: ``case_routes.unchanged_since_read``), so an
    undo or reopen cannot race another reviewer's change. On the state alone, an undo (or reopen)
    that had read one rejection took back another, made meanwhile by someone else, and its audit
    entry described the decision it had read. Prepared publication media stay: a pending case may carry them (made ahead
    of approval, ``service.publication``), and approval re-checks their hashes before reusing them."""
    now = utcnow()
    res = db.execute(update(Case).where(case_routes.unchanged_since_read(case)).values(
        state="pending", reason=None, reject_reason_code=None, reviewer=None, decided_at=None, updated_at=now))
    if res.rowcount != 1:
        db.rollback()
        raise ApiError(409, "the case changed meanwhile; reload it", code="invalid_transition")


def _done(db: Session, case: Case) -> dict:
    db.commit()
    db.refresh(case)
    return case_summary(case)


class UndoIn(ApiModel):
    version: case_routes.Version = None  # the decision's answer's: the undo bar takes back that decision


@router.post("/{case_id}/undo", response_model=CaseSummary, responses=responses(404, 409))
def undo(case_id: str, request: Request, body: UndoIn | None = None, db: Session = Depends(get_db),
         who: Principal = Depends(case_routes.reviewers)) -> dict:
    """Take back one's own approval or rejection within ``undo_window_s`` of making it: the case
    returns to pending and off any screen's reach (screens show published cases only)."""
    window = request.app.state.settings.undo_window_s
    case = case_routes._case(db, case_id)
    case_routes.check_version(case, body.version if body else None)
    if case.state not in UNDOABLE:
        raise ApiError(409, f"only an approval or a rejection can be undone; the case is {case.state}",
                       state=case.state, code="invalid_transition")
    if case.reviewer != who.name:
        raise ApiError(403, f"only {case.reviewer} can undo their decision", code="not_your_decision")
    until = undo_until(case, window)
    if until is None or utcnow() > until:
        raise ApiError(409, f"the decision can only be undone within {window} s of making it",
                       code="undo_expired", undo_window_s=window)
    old_state, old_reason, old_code, decided_at = case.state, case.reason, case.reject_reason_code, case.decided_at
    _back_to_pending(db, case)
    audit.record(db, request, who, "case.undo", "case", case.id, from_state=old_state,
                 undone={"approved": "case.approve", "rejected": "case.reject"}[old_state],
                 decided_at=iso(decided_at), previous_reason=old_reason,
                 **({"previous_reason_code": old_code} if old_code else {}))
    return _done(db, case)


class ReopenIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)  # required; checked for the code below
    version: case_routes.Version = None


@router.post("/{case_id}/reopen", response_model=CaseSummary, responses=responses(404, 409))
def reopen(case_id: str, request: Request, body: ReopenIn | None = None, db: Session = Depends(get_db),
           who: Principal = Depends(case_routes.reviewers)) -> dict:
    """Send a rejected case back to the queue (pending) with the reason why; the rejection stays
    in the case's history (no body at all is no reason either)."""
    reason = ((body.reason if body else None) or "").strip()
    if not reason:
        raise ApiError(422, "reason: required when reopening", code="reason_required")
    case = case_routes._case(db, case_id)
    case_routes.check_version(case, body.version if body else None)
    if case.state != "rejected":
        raise ApiError(409, f"only a rejected case can be reopened; the case is {case.state}",
                       state=case.state, code="invalid_transition")
    old_reason, old_code, old_reviewer = case.reason, case.reject_reason_code, case.reviewer
    _back_to_pending(db, case)
    audit.record(db, request, who, "case.reopen", "case", case.id, from_state="rejected", reason=reason,
                 rejected_by=old_reviewer, rejection_reason=old_reason, rejection_reason_code=old_code)
    return _done(db, case)
