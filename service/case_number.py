"""The number the public sees for a case: ``YYYYMMDD-NNNN``.

Internal case ids (``J12-<40 hex>``) mean nothing to a passer-by and cannot be read out over the
phone when someone disputes a case. The public number is the offence's local date (the camera's
timezone; the publication date when the clip has no wall clock) and the case's place in that day's
sequence. It is given once, when a reviewer publishes the case (never by the preview, a GET:
previews numbered cases that were then never published, leaving gaps in the day's sequence), and
never changes; a unique index makes two reviewers numbering at once take different numbers.
"""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.display_names import judged_documents
from service.models import Camera, Case, utcnow
from service.scenes import timezone_of

ATTEMPTS = 8


def recorded_zone(case: Case) -> str | None:
    """The time zone the pipeline wrote into the case itself (its camera's zone when it was judged,
    the one ``start_time_local`` is written in), when it names a zone this machine knows. It comes
    first: a case from before scene versions, or judged by a scene document an older release saved
    and this one no longer reads, otherwise took its camera's current zone (or, with none, the
    installation default, Asia/Shanghai) for a camera elsewhere."""
    name = (case.data or {}).get("timezone")
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _local_day(case: Case, tz_name: str | None) -> str:
    when = case.start_time or utcnow()
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(ZoneInfo(tz_name or "Asia/Shanghai"))
    except ZoneInfoNotFoundError:
        pass
    return when.strftime("%Y%m%d")


def assign_public_number(db: Session, case: Case) -> str:
    """The case's public number, given now (and committed) if it has none."""
    if case.public_number:
        return case.public_number
    # the zone of the scene the case was judged by, as its page, the feed and the sheet give its
    # time (a camera moved to another zone since does not change the offence's local day)
    cam = db.get(Camera, case.camera_id)
    judged = timezone_of(judged_documents(db, [case]).get(case.id), case.camera_id)
    day = _local_day(case, recorded_zone(case) or judged or (cam.timezone if cam else None))
    for _ in range(ATTEMPTS):
        # the day's last number: the longest, then the largest (as text "-9999" sorts after "-10000")
        taken = db.scalar(select(Case.public_number).where(Case.public_number.like(f"{day}-%"))
                          .order_by(func.length(Case.public_number).desc(), Case.public_number.desc()).limit(1))
        seq = int(taken.rsplit("-", 1)[1]) + 1 if taken else 1
        number = f"{day}-{seq:04d}"
        try:
            db.execute(update(Case).where(Case.id == case.id, Case.public_number.is_(None))
                       .values(public_number=number))
            db.commit()
        except IntegrityError:  # someone took this number a moment ago: count again
            db.rollback()
            continue
        db.refresh(case)
        if case.public_number:
            return case.public_number
    raise RuntimeError(f"could not number case {case.id} after {ATTEMPTS} attempts")


