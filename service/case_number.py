"""The number the public sees for a case: ``YYYYMMDD-NNNN``.

Internal case ids (``J12-<40 hex>``) mean nothing to a passer-by and cannot be read out over the
phone when someone disputes a case. The public number is the offence's local date (the camera's
timezone; the publication date when the clip has no wall clock) and the case's place in that day's
sequence. It is given once, when a reviewer publishes the case (never by the preview, a GET:
previews numbered cases that were then never published, leaving gaps in the day's sequence), and
never changes; a unique index makes two reviewers numbering at once take different numbers.

The number is written by the very UPDATE that moves the case to ``published``, in one transaction
(``publish_numbered``). It used to be given and committed first, the state change following: a
withdrawal, an undo or a changed version that won the race at that last step left a case with a
number it was never shown under (a withdrawn one was then listed under it in the screens' feed),
and used up that number of the day.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
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


def next_public_number(db: Session, case: Case) -> str:
    """The number publishing ``case`` now would give it: its own if it has one (a case numbered by
    a release that numbered before the state change keeps it, so no number is given twice), else
    the next of its day. Reads only; ``publish_numbered`` writes it."""
    if case.public_number:
        return case.public_number
    # the zone of the scene the case was judged by, as its page, the feed and the sheet give its
    # time (a camera moved to another zone since does not change the offence's local day)
    cam = db.get(Camera, case.camera_id)
    judged = timezone_of(judged_documents(db, [case]).get(case.id), case.camera_id)
    day = _local_day(case, recorded_zone(case) or judged or (cam.timezone if cam else None))
    # the day's last number: the longest, then the largest (as text "-9999" sorts after "-10000")
    taken = db.scalar(select(Case.public_number).where(Case.public_number.like(f"{day}-%"))
                      .order_by(func.length(Case.public_number).desc(), Case.public_number.desc()).limit(1))
    seq = int(taken.rsplit("-", 1)[1]) + 1 if taken else 1
    return f"{day}-{seq:04d}"


def publish_numbered(db: Session, case: Case, write: Callable[[str], Any]) -> str:
    """Number ``case`` in the transaction that publishes it: ``write(number)`` makes the state
    change with ``public_number=number`` and raises when it cannot (the case changed: it rolls
    back, and no number was ever stored); the caller commits. Two reviewers publishing at once may
    count the same next number: the unique index refuses the second UPDATE, whose transaction is
    rolled back (nothing else was written in it yet) and counts again. So a number exists only on
    a published case, each once, and the day's sequence has no gaps."""
    for _ in range(ATTEMPTS):
        number = next_public_number(db, case)
        try:
            write(number)
        except IntegrityError:  # someone took this number a moment ago: count again
            db.rollback()
            continue
        return number
    raise RuntimeError(f"could not number case {case.id} after {ATTEMPTS} attempts")
