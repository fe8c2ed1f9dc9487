"""Reviewer correction of a case's licence plate (audited; the machine read is never changed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from service import audit
from service.api.case_schema import CaseSummary
from service.api.common import ApiModel, case_summary
from service.db import lock_row
from service.errors import ApiError, responses
from service.models import Case, PlateCorrection, utcnow
from service.plate_search import key_in_force
from service.plates import VEHICLE_CLASSES, check_correction, plate_view
from service.security import Principal, get_db, require_roles

router = APIRouter(prefix="/api/cases", tags=["cases"], responses=responses(401, 403))
reviewers = require_roles("reviewer", "admin")


class PlateIn(ApiModel):
    text: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=2000)  # required; checked for the code below
    allow_invalid_format: bool = False  # e.g. a foreign or military plate the format check cannot know


@router.post("/{case_id}/plate", response_model=CaseSummary, responses=responses(404, 409))
def correct_plate(case_id: str, body: PlateIn, request: Request, db: Session = Depends(get_db),
                  who: Principal = Depends(reviewers)) -> dict:
    # The row lock (service.db.lock_row) holds a second correction of this case at its read until
    # this one commits, so it appends to the list as it then is. Without it, a reviewer whose new
    # plate had the key already stored left plate_key alone (no change to write), and a correction
    # committed in the meantime kept its own key on the case: the plate search found the case by a
    # plate that was no longer in force; and the audit's ``previous`` named the plate read before
    # the other correction, not the one this correction replaced.
    lock_row(db, Case, case_id)
    case = db.get(Case, case_id)
    if case is None:
        raise ApiError(404, f"no case {case_id!r}")
    if case.plate is None and (case.object_class or "") not in VEHICLE_CLASSES:
        raise ApiError(409, f"case {case_id!r} is not about a vehicle; it has no plate", code="not_a_vehicle")
    reason = (body.reason or "").strip()
    if not reason:
        raise ApiError(422, "reason: required when correcting a plate", code="reason_required")
    text, ok, problem = check_correction(body.text, body.allow_invalid_format)
    if problem:
        raise ApiError(422, problem, code="plate_format")
    before = plate_view(case)
    case.plate_corrections.append(PlateCorrection(text=text, format_ok=ok, reason=reason, reviewer=who.name))
    case.plate_key = key_in_force(case)  # now this correction's: the plate search finds it by it
    # a new version of the case: a decision sent with the version its page showed before this
    # correction is refused (service.api.cases.check_version), not made on a plate never seen
    case.updated_at = utcnow()
    flag_modified(case, "plate_key")  # written even when unchanged: what this correction puts in force
    audit.record(db, request, who, "case.plate", "case", case.id, text=text, format_ok=ok, reason=reason,
                 previous=before["text"] if before else None,
                 machine=(case.plate or {}).get("text"), allow_invalid_format=body.allow_invalid_format)
    db.commit()
    db.refresh(case)
    return case_summary(case)
