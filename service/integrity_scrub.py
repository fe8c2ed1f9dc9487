"""A periodic re-read of every byte of every case's evidence and published media.

The case view and the screens' feed check hashes through ``service.hash_cache``, which trusts a
file whose size, mtime, ctime and inode have not changed. What no stat shows (bit rot on the disk,
a raw edit of the block device, a restore tool that puts every time back) would keep its old
cached digest there. The scrub reads each file again every ``integrity_scrub_interval_s`` and puts
the digest of what is really there into the cache, so such a file fails its next cached check: the
case view shows the problem and screens drop the case at their next poll. It logs every case it
finds failing.

Approve, publish and serving to screens never depended on the cache: they read the bytes.
The scrub runs in its own thread (a start must not wait for every video to be read) and stops
between two files when the service stops. Its schedule outlives restarts: the end of the last
whole scrub is kept in ``data_dir/cache/integrity-scrub-last`` (its mtime), and the next one is due
one interval after it. Counted from each start instead, a service restarted more often than the
interval (a daily deploy, a nightly restart, with the default of a day) never scrubbed at all. With
no scrub on record (a new installation, an upgrade) the first is one interval after start-up.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.background_loop import BackgroundLoop
from service.blobstore import BadKey, evidence_store, join
from service.config import Settings
from service.hash_cache import refresh_blob
from service.models import Case

log = logging.getLogger(__name__)


@dataclass
class ScrubReport:
    files: int = 0
    failing: dict[str, list[str]] = field(default_factory=dict)  # case id -> its failing files


def scrub(
    factory: sessionmaker[Session], settings: Settings, stopping: Callable[[], bool] = lambda: False
) -> ScrubReport:
    """Re-read every evidence and published file of every case; the cache keeps what was read."""
    with factory() as db:
        cases = db.execute(
            select(Case.id, Case.out_dir, Case.evidence_hashes, Case.published_dir, Case.published_hashes).order_by(
                Case.id
            )
        ).all()
    report = ScrubReport()
    store = evidence_store(settings)  # the data folder or the bucket (service.blobstore)
    for case_id, out_dir, evidence, published_dir, published in cases:
        files = [(rel, out_dir, rel, sha) for rel, sha in sorted((evidence or {}).items())]
        if published_dir:
            files += [(f"published/{name}", published_dir, name, sha) for name, sha in sorted((published or {}).items())]
        for label, folder, name, expected in files:
            if stopping():
                return report
            try:
                actual = refresh_blob(store, join(folder, name), settings.chunk_size)
            except BadKey:
                actual = None
            report.files += 1
            if actual != expected:
                report.failing.setdefault(case_id, []).append(label if actual else f"{label} (missing)")
        if case_id in report.failing:
            log.warning("integrity scrub: case %s fails for %s", case_id, ", ".join(report.failing[case_id]))
    log.info(
        "integrity scrub: %d files of %d cases read again, %d cases failing",
        report.files,
        len(cases),
        len(report.failing),
    )
    return report


def last_scrub_marker(settings: Settings) -> Path:
    """The file whose mtime is when the last whole scrub ended (not evidence: a cache)."""
    return settings.data_dir / "cache" / "integrity-scrub-last"


def first_wait_s(settings: Settings, now: float | None = None) -> float:
    """Seconds from now to the next scrub: one interval after the last whole one, none if overdue."""
    interval = settings.integrity_scrub_interval_s
    try:
        last = last_scrub_marker(settings).stat().st_mtime
    except OSError:
        return interval  # none on record
    since = (time.time() if now is None else now) - last
    return min(interval, max(0.0, interval - since))


class Scrubber(BackgroundLoop):
    """Runs ``scrub`` every ``integrity_scrub_interval_s`` (0: never), counted from the last whole scrub."""

    thread_name = "civicwatch-scrub"

    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        super().__init__()
        self.factory, self.settings = factory, settings

    def start(self) -> None:
        if self.settings.integrity_scrub_interval_s > 0:
            self._start_thread()

    def _loop(self) -> None:
        wait = first_wait_s(self.settings)
        while not self._stop.wait(wait):
            wait = self.settings.integrity_scrub_interval_s
            try:
                scrub(self.factory, self.settings, self._stop.is_set)
            except Exception:
                log.exception("integrity scrub failed")
                continue
            if not self._stop.is_set():  # a scrub cut short by a stop is not a whole one
                self._mark_done()

    def _mark_done(self) -> None:
        marker = last_scrub_marker(self.settings)
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            now = time.time()
            os.utime(marker, (now, now))
        except OSError:
            log.warning("could not record the integrity scrub's time in %s", marker, exc_info=True)
