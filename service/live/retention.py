"""Rolling footage retention: live segments (and their analysis windows) are deleted after
``live_retention_days``, and, oldest first, while the rolling footage takes more than
``live_disk_budget_bytes``.

Only rolling footage under ``data_dir/live`` is ever touched. Case evidence is a separate store:
each case's clip (stream-copied out of the window), stills, track file and manifest were written
into its job's run folder (``jobs/<id>/run-N``, or the S3 bucket) when the job finished, and
retention never deletes there, so a case outlives the footage it came from.

A segment is kept while it may still be read: its own job is not finished, or a later segment of
the same recording still waits for its window (which copies this one as pre-roll).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import session_scope
from service.models import Job, LiveSegment, utcnow

log = logging.getLogger(__name__)

FINISHED = ("done", "failed", "cancelled")
PREROLL_SEGMENTS = 3  # later segments whose windows may still copy this one


@dataclass
class RetentionReport:
    deleted: list[str] = field(default_factory=list)  # segment paths (relative to data_dir)
    freed_bytes: int = 0
    kept_bytes: int = 0


def _size(settings: Settings, rel: str | None) -> int:
    if not rel:
        return 0
    try:
        return (settings.data_dir / rel).stat().st_size
    except OSError:
        return 0


def _removable(db: Session, seg: LiveSegment, by_run: dict[tuple[str, int], LiveSegment]) -> bool:
    if seg.job_id is None:
        return False
    state = db.scalar(select(Job.state).where(Job.id == seg.job_id))
    if state is not None and state not in FINISHED:
        return False
    for k in range(1, PREROLL_SEGMENTS + 1):
        later = by_run.get((seg.connection, seg.sequence + k))
        if later is not None and later.job_id is None:
            return False
    return True


def sweep(factory: sessionmaker[Session], settings: Settings, now: datetime | None = None) -> RetentionReport:
    """Delete what retention allows; returns what was deleted and what the footage still takes."""
    now = now or utcnow()
    report = RetentionReport()
    cutoff = now - timedelta(days=settings.live_retention_days)
    with session_scope(factory) as db:
        rows = db.scalars(select(LiveSegment).where(LiveSegment.deleted_at.is_(None))
                          .order_by(LiveSegment.start_at, LiveSegment.id)).all()
        by_run = {(s.connection, s.sequence): s for s in rows}
        sizes = {s.id: _size(settings, s.path) + _size(settings, s.window_path) for s in rows}
        total = sum(sizes.values())
        budget = settings.live_disk_budget_bytes
        for seg in rows:  # oldest first
            too_old = seg.end_at < cutoff
            over = budget > 0 and total > budget
            if not (too_old or over):
                continue
            if not _removable(db, seg, by_run):
                continue
            for rel in (seg.path, seg.window_path):
                if rel:
                    (settings.data_dir / rel).unlink(missing_ok=True)
            seg.deleted_at = now
            total -= sizes[seg.id]
            report.freed_bytes += sizes[seg.id]
            report.deleted.append(seg.path)
        report.kept_bytes = total
    if report.deleted:
        log.info("retention deleted %d live segment(s), %d bytes; %d bytes of rolling footage kept",
                 len(report.deleted), report.freed_bytes, report.kept_bytes)
    return report
