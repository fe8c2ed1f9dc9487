"""Rolling footage retention: live segments (and their analysis windows) are deleted after
``live_retention_days``, and, oldest first, while the rolling footage takes more than
``live_disk_budget_bytes``.

Only rolling footage under ``data_dir/live`` is ever touched. Case evidence is a separate store:
each case's clip (stream-copied out of the window), stills, track file and manifest were written
into its job's run folder (``jobs/<id>/run-N``, or the S3 bucket) when the job finished, and
retention never deletes there, so a case outlives the footage it came from.

A segment is kept while it may still be read: its own job is not finished, or a later segment of
the same recording still waits for its window (which copies this one as pre-roll).

A segment a recorder found unreadable and set aside (``*.mp4.unreadable``, no database row: it is
never read again) is rolling footage too: kept for ``live_retention_days`` (judged by the later of
the time in its name and its last write, which is about its end), counted in the disk budget and
deleted among the segments, oldest first, when over it; reported with them. Before, retention
went by database rows only, and such files stayed for ever, outside the budget. Only files under
``data_dir/live`` (symbolic links not followed, none deleted) whose name is a segment's name with
that suffix are ours; anything else there is left alone.

Each recording folder's ``index.jsonl`` is trimmed of the lines about footage deleted before the
cutoff (``detector.media.index_trim``: why a prefix, and why under the index lock a recorder's
appends take too), at most about once a day (``INDEX_TRIM_SLACK``), so it no longer grows for as
long as the camera is recorded.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from detector.media.index_trim import trim_index
from detector.media.recorder import INDEX_NAME, UNREADABLE_SUFFIX, parse_segment_name, segment_name
from service.config import Settings
from service.db import session_scope
from service.models import Job, LiveSegment, utcnow

log = logging.getLogger(__name__)

FINISHED = ("done", "failed", "cancelled")
PREROLL_SEGMENTS = 3  # later segments whose windows may still copy this one
# An index is trimmed once its oldest line is this far past the cutoff: about once a day, not a
# rewrite of the whole file at every sweep (a minute) for a minute of lines.
INDEX_TRIM_SLACK = timedelta(days=1)


@dataclass
class RetentionReport:
    # segment paths (relative to data_dir), unreadable segments set aside (``*.mp4.unreadable``) among them
    deleted: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_bytes: int = 0
    index_lines_trimmed: int = 0  # lines about deleted footage trimmed from the folders' index.jsonl


@dataclass(frozen=True)
class SetAside:
    """An unreadable segment a recorder set aside (``*.mp4.unreadable``): rolling footage with no
    database row. ``start``: the time in its name; ``age_from``: what its age counts from (the later
    of that and its last write, which is about the segment's end)."""

    path: Path
    rel: str  # relative to data_dir
    start: datetime
    age_from: datetime
    bytes: int


def _ours(name: str) -> datetime | None:
    """The start of the segment an ``*.mp4.unreadable`` name is (None: the name is not one a
    recorder gives: not ours, left alone)."""
    if not name.endswith(UNREADABLE_SUFFIX):
        return None
    base = name.removesuffix(UNREADABLE_SUFFIX)
    start = parse_segment_name(base)
    return start if start is not None and segment_name(start) == base else None


def scan_live(settings: Settings) -> tuple[list[SetAside], list[Path]]:
    """The unreadable segments set aside under ``data_dir/live`` (oldest first) and the recording
    folders there (those with an ``index.jsonl``). Symbolic links are not followed, nor taken:
    nothing outside ``data_dir/live`` is ever reached from here."""
    found: list[SetAside] = []
    folders: list[Path] = []
    for top, _dirs, names in os.walk(settings.live_dir, followlinks=False):
        folder = Path(top)
        if INDEX_NAME in names:
            folders.append(folder)
        for name in names:
            start = _ours(name)
            if start is None:
                continue
            path = folder / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            written = datetime.fromtimestamp(st.st_mtime, timezone.utc)
            found.append(SetAside(path, path.relative_to(settings.data_dir).as_posix(), start,
                                  max(start, written), st.st_size))
    found.sort(key=lambda a: (a.start, a.rel))
    return found, folders


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
    set_aside, folders = scan_live(settings)
    unreadable = 0
    with session_scope(factory) as db:
        rows = db.scalars(select(LiveSegment).where(LiveSegment.deleted_at.is_(None))
                          .order_by(LiveSegment.start_at, LiveSegment.id)).all()
        by_run = {(s.connection, s.sequence): s for s in rows}
        sizes = {s.id: _size(settings, s.path) + _size(settings, s.window_path) for s in rows}
        total = sum(sizes.values()) + sum(a.bytes for a in set_aside)
        budget = settings.live_disk_budget_bytes
        footage: list[LiveSegment | SetAside] = [*rows, *set_aside]
        footage.sort(key=lambda f: f.start if isinstance(f, SetAside) else f.start_at)  # stable: rows by id
        for item in footage:  # oldest first
            too_old = (item.age_from if isinstance(item, SetAside) else item.end_at) < cutoff
            over = budget > 0 and total > budget
            if not (too_old or over):
                continue
            if isinstance(item, SetAside):  # never read again: nothing waits for it
                try:
                    item.path.unlink(missing_ok=True)
                except OSError as err:  # the rest of the sweep goes on; tried again at the next
                    log.warning("%s: not deleted (%s)", item.rel, err)
                    continue
                total -= item.bytes
                report.freed_bytes += item.bytes
                report.deleted.append(item.rel)
                unreadable += 1
                continue
            if not _removable(db, item, by_run):
                continue
            for rel in (item.path, item.window_path):
                if rel:
                    (settings.data_dir / rel).unlink(missing_ok=True)
            item.deleted_at = now
            total -= sizes[item.id]
            report.freed_bytes += sizes[item.id]
            report.deleted.append(item.path)
        report.kept_bytes = total
    if report.deleted:
        log.info("retention deleted %d live segment(s) (%d of them set aside as unreadable), %d bytes; "
                 "%d bytes of rolling footage kept", len(report.deleted), unreadable, report.freed_bytes,
                 report.kept_bytes)
    for folder in folders:
        report.index_lines_trimmed += trim_index(folder, cutoff, INDEX_TRIM_SLACK).dropped
    return report
