"""The embedded runner: one worker thread inside the web process, fed from the database queue.

One thread, because the pipeline already uses both cores (decode and inference overlap); a second
concurrent job would only slow both down. Publication media for finished jobs are made on their
own thread (``publish_queue``), so the next job starts at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.jobs.lease import new_owner, release, requeue_expired
from service.jobs.publish_queue import PublicationQueue
from service.jobs.work import AnalyzeFn, default_analyze_fn, next_queued, run_job

log = logging.getLogger(__name__)


class InProcessRunner:
    def __init__(self, factory: sessionmaker[Session], settings: Settings,
                 analyze_fn: AnalyzeFn | None = None, make_options: Callable[[dict], Any] | None = None):
        self.factory = factory
        self.settings = settings
        if analyze_fn is None:
            analyze_fn, default_options = default_analyze_fn(settings)
            make_options = make_options or default_options
        self._analyze_fn = analyze_fn
        self._make_options = make_options or (lambda extra: dict(extra))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.owner = new_owner()
        self.current: int | None = None  # the job being run, for a stop that cannot wait for it
        self.publisher = PublicationQueue(factory, settings)

    def submit(self, job_id: int) -> None:
        self._wake.set()

    def worker_alive(self) -> bool:
        """Whether the worker thread is running (``/healthz`` says so: queued jobs wait otherwise)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._recover()
        self._stop.clear()
        self.publisher.start()
        self._thread = threading.Thread(target=self._loop, name="civicwatch-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop; a job still in progress after ``timeout`` (e.g. writing evidence, which cannot be
        interrupted) is handed back to the queue uncounted, and its late result is dropped."""
        timeout = self.settings.job_stop_timeout_s if timeout is None else timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            job_id = self.current
            if self._thread.is_alive() and job_id is not None and release(self.factory, job_id, self.owner):
                log.info("job %s handed back to the queue at shutdown", job_id)
            self._thread = None
        self.publisher.stop()

    def _recover(self) -> None:
        requeued = requeue_expired(self.factory)
        if requeued:
            log.info("re-queued jobs whose worker stopped renewing its lease: %s", requeued)

    def _loop(self) -> None:
        last_recover = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_recover >= self.settings.job_lease_s:
                    last_recover = time.monotonic()
                    self._recover()  # another process that died holding a job
                job_id = next_queued(self.factory)
                if job_id is None:
                    self._wake.wait(min(self.settings.job_poll_s, self.settings.job_lease_s))
                    self._wake.clear()
                    continue
                self.current = job_id
                try:
                    run_job(job_id, self.factory, self.settings, self._analyze_fn, self._make_options,
                            self._stop.is_set, owner=self.owner, on_done=self.publisher.enqueue)
                finally:
                    self.current = None
            except (Exception, SystemExit):  # noqa: BLE001 - the worker must outlive one bad job or a DB blip
                log.exception("job worker error")
                self._stop.wait(self.settings.job_poll_s)
