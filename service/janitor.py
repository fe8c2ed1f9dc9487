"""Removing what crashed or abandoned work leaves in the data folder, safely.

Left behind before this existed: ``partial/form-*.part`` of a single-request upload whose process
was killed, ``partial/session-*.part`` and rows of resumable uploads nobody finishes,
``*.accepting`` files of a completion that crashed, and ``jobs/<id>/run-N`` folders of attempts
that died mid-analysis. The janitor runs at start-up and then every ``janitor_interval_s``.

What it never removes: anything younger than its age setting (a live upload or job touches its
files all the time; another ``serve`` on the same folder may be mid-upload), a session whose chunk
is being written, and any run folder that a job (its current attempt) or a case (evidence a
reviewer decided on stays where it was judged) refers to. A failed or cancelled try's folder is not
kept for its job's sake: its retry runs in a folder of its own.

Nor a run that is not this database's: one whose job the database does not know, or made before its
job (a job of that number in another database). Unreferenced meant "orphan" only while data folder
and database belong together: started against an empty database (DATABASE_URL switched from SQLite
to PostgreSQL, a mistyped database name, a restore of an older database), the first sweep removed
the evidence folder of every case the real database holds. Such runs are kept and named in a warning.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.background_loop import BackgroundLoop
from service.config import Settings
from service.db import session_scope
from service.models import Case, Job, JobSegment, UploadSession, utcnow

log = logging.getLogger(__name__)

# a job's run and its scene copy, or a split job's segment run (its scene copy, ``seg-NNN.scene.yaml``,
# serves every try of the segment and stays with the job); before, segment runs on local disk
# were never matched, so the folders of failed tries stayed for good
RUN_RE = re.compile(r"^(seg-\d+-)?run-\d+(\.scene\.yaml)?$")
STORED_RUN_RE = re.compile(r"^(seg-\d+-)?run-\d+$")  # a job's run, or a split job's segment run
SESSION_RE = re.compile(r"^session-([0-9a-f]+)\.part$")


@dataclass
class SweepReport:
    removed: list[str] = field(default_factory=list)  # paths relative to data_dir
    sessions_expired: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed or self.sessions_expired)


def _age_s(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path, settings: Settings, report: SweepReport) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as err:
        log.warning("janitor could not remove %s: %s", path, err)
        return
    report.removed.append(path.relative_to(settings.data_dir).as_posix())


def expire_sessions(factory: sessionmaker[Session], settings: Settings, report: SweepReport) -> None:
    """Resumable sessions untouched for ``upload_session_ttl_s`` (row and part file)."""
    from service.api.uploads import _lock, _locks_guard, _part_path_for, _session_locks

    cutoff = utcnow() - timedelta(seconds=settings.upload_session_ttl_s)
    now = time.time()
    with session_scope(factory) as db:
        for s in db.scalars(select(UploadSession).where(UploadSession.updated_at < cutoff)):
            part = _part_path_for(settings, s.id)
            if part.exists() and _age_s(part, now) < settings.upload_session_ttl_s:
                continue  # bytes arrived recently (a chunk in flight): not abandoned
            lock = _lock(s.id)
            if not lock.acquire(blocking=False):
                continue
            try:
                db.delete(s)
                db.flush()
                if part.exists():
                    _remove(part, settings, report)
                report.sessions_expired.append(s.id)
            finally:
                lock.release()
                with _locks_guard:
                    _session_locks.pop(s.id, None)


def sweep_partial(factory: sessionmaker[Session], settings: Settings, report: SweepReport) -> None:
    """Stale files in ``partial/`` that no live session owns."""
    folder = settings.partial_dir
    if not folder.is_dir():
        return
    with factory() as db:
        live = set(db.scalars(select(UploadSession.id)))
    now = time.time()
    for path in folder.iterdir():
        m = SESSION_RE.match(path.name)
        if m and m.group(1) in live:
            continue  # expire_sessions decides about these
        if _age_s(path, now) >= settings.orphan_part_age_s:
            _remove(path, settings, report)


ENDED_WITHOUT_CASES = ("failed", "cancelled")


def referenced_runs(db: Session) -> set[str]:
    """Run folders something still needs: every case's, and those of jobs and segments that are
    queued, running or done.

    A failed or cancelled try ingests nothing and its retry takes a folder of its own
    (``service.jobs.work.fresh_run_dir``), so its folder is kept only while a case points at it.
    Before, a failed job kept its folder referenced for good: when the bucket refused to delete the
    objects a half-stored run had written, nothing ever removed them."""
    live = ~Job.state.in_(ENDED_WITHOUT_CASES)
    runs = {p for p in db.scalars(select(Job.out_dir).where(live)) if p}
    runs |= {p for p in db.scalars(select(JobSegment.out_dir).where(~JobSegment.state.in_(ENDED_WITHOUT_CASES))) if p}
    runs |= {p for p in db.scalars(select(Case.out_dir).distinct()) if p}
    return runs


CLOCK_SLACK_S = 60  # a run folder's mtime against its job's creation time (another machine's clock)


def _job_created(db: Session, job_id: str, known: dict[str, float | None]) -> float | None:
    """When job ``job_id`` (a folder name) was created, as a timestamp; None when the database
    has no such job."""
    if job_id not in known:
        created = db.scalar(select(Job.created_at).where(Job.id == int(job_id))) if job_id.isdigit() else None
        known[job_id] = created.timestamp() if created is not None else None
    return known[job_id]


def _not_this_databases(db: Session, job_id: str, mtime: float, known: dict[str, float | None]) -> bool:
    """A run no job of this database can have made: its job unknown, or the run older than the job."""
    created = _job_created(db, job_id, known)
    return created is None or mtime < created - CLOCK_SLACK_S


def _warn_foreign(foreign: list[str]) -> None:
    if foreign:
        log.warning("janitor kept %d run(s) that no job of this database made (is DATABASE_URL the database of "
                    "this data folder?): %s", len(foreign), ", ".join(foreign[:10]) + (" …" if len(foreign) > 10 else ""))


def sweep_runs(factory: sessionmaker[Session], settings: Settings, report: SweepReport) -> None:
    """``jobs/<id>/run-N`` folders (and their scene copies) and ``jobs/<id>/seg-NNN-run-N`` folders
    no job, segment or case refers to, made by a job of this database."""
    if not settings.jobs_dir.is_dir():
        return
    now = time.time()
    foreign: list[str] = []
    known: dict[str, float | None] = {}
    with factory() as db:
        referenced = referenced_runs(db)
        for job_dir in settings.jobs_dir.iterdir():
            if not job_dir.is_dir():
                continue
            for path in job_dir.iterdir():
                if not RUN_RE.match(path.name):
                    continue
                run_rel = f"jobs/{job_dir.name}/{path.name.removesuffix('.scene.yaml')}"
                if run_rel in referenced or _age_s(path, now) < settings.orphan_run_age_s:
                    continue
                if _not_this_databases(db, job_dir.name, now - _age_s(path, now), known):
                    foreign.append(path.relative_to(settings.data_dir).as_posix())
                    continue
                _remove(path, settings, report)
    _warn_foreign(foreign)


def sweep_stored_runs(factory: sessionmaker[Session], settings: Settings, report: SweepReport) -> None:
    """Runs in a bucket (``storage: s3``) that no job or case refers to: a worker that died between
    uploading its run and recording it leaves one. Judged by the run's newest object, like folders."""
    from service.blobstore import evidence_store

    store = evidence_store(settings)
    if store.kind == "local":
        return  # the data folder's runs are sweep_runs' business
    newest: dict[str, float] = {}
    for blob in store.list("jobs"):
        parts = blob.key.split("/")
        if len(parts) >= 4 and STORED_RUN_RE.match(parts[2]) and parts[1].isdigit():
            run = "/".join(parts[:3])
            newest[run] = max(newest.get(run, 0.0), blob.mtime)
    now = time.time()
    foreign: list[str] = []
    known: dict[str, float | None] = {}
    with factory() as db:
        referenced = referenced_runs(db)
        unowned = sorted(run for run, mtime in newest.items()
                         if run not in referenced and now - mtime >= settings.orphan_run_age_s)
        for run in list(unowned):
            if _not_this_databases(db, run.split("/")[1], newest[run], known):
                foreign.append(f"s3:{run}")
                unowned.remove(run)
    _warn_foreign(foreign)
    for run in unowned:
        try:
            store.delete_prefix(run)
        except Exception as err:  # noqa: BLE001
            log.warning("janitor could not remove the stored run %s: %s", run, err)
            continue
        report.removed.append(f"s3:{run}")


def sweep(factory: sessionmaker[Session], settings: Settings) -> SweepReport:
    report = SweepReport()
    for step in (expire_sessions, sweep_partial, sweep_runs, sweep_stored_runs):
        try:
            step(factory, settings, report)
        except Exception:  # noqa: BLE001 - one failing step must not stop the others
            log.exception("janitor step %s failed", step.__name__)
    if report:
        log.info("janitor removed %s; expired upload sessions %s", report.removed, report.sessions_expired)
    return report


class Janitor(BackgroundLoop):
    """Runs ``sweep`` at start-up and every ``janitor_interval_s`` (0: at start-up only)."""

    thread_name = "civicwatch-janitor"

    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        super().__init__()
        self.factory, self.settings = factory, settings

    def start(self) -> None:
        sweep(self.factory, self.settings)
        if self.settings.janitor_interval_s > 0:
            self._start_thread()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.janitor_interval_s):
            sweep(self.factory, self.settings)
