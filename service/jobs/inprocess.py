"""The embedded runner: one worker thread inside the web process, fed from the database queue.

One thread, because the pipeline already uses both cores (decode and inference overlap); a second
concurrent job would only slow both down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.jobs.work import AnalyzeFn, default_analyze_fn, next_queued, requeue_interrupted, run_job

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

    def submit(self, job_id: int) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        requeued = requeue_interrupted(self.factory)
        if requeued:
            log.info("re-queued jobs interrupted by the last shutdown: %s", requeued)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="civicwatch-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = next_queued(self.factory)
                if job_id is None:
                    self._wake.wait(self.settings.job_poll_s)
                    self._wake.clear()
                    continue
                run_job(job_id, self.factory, self.settings, self._analyze_fn, self._make_options,
                        self._stop.is_set)
            except Exception:  # noqa: BLE001 - the worker must outlive one bad job or a DB blip
                log.exception("job worker error")
                self._stop.wait(self.settings.job_poll_s)
