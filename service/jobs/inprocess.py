"""The embedded runner: one worker thread inside the web process, fed from the database queue.

One thread, because the pipeline already uses both cores (decode and inference overlap); a second
concurrent job would only slow both down. Publication media for finished jobs are made on their
own thread (``publish_queue``), so the next job starts at once.

A job whose analysis hangs is failed by its heartbeat (``service.jobs.stall``); a thread cannot be
killed, so the runner then abandons the hung one and starts a fresh worker thread under a new lease
owner. The hung thread ends its loop should its call ever return, and the late result is dropped:
the job's lease is not its owner's any more (nor, after a retry, the new thread's).
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
        self._generation = 0  # the worker thread in charge; a hung one is left behind under an older number
        self._lock = threading.Lock()
        self.abandoned: list[threading.Thread] = []  # hung worker threads, left to end on their own
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
        self._start_worker()

    def _start_worker(self) -> None:
        with self._lock:
            self._generation += 1
            self.owner = new_owner() if self._generation > 1 else self.owner
            self.current = None
            self._thread = threading.Thread(target=self._loop, args=(self._generation, self.owner),
                                            name=f"civicwatch-jobs-{self._generation}", daemon=True)
            self._thread.start()

    def _on_stall(self, job_id: int) -> None:
        """The heartbeat failed ``job_id`` as stalled: leave its thread behind, start a fresh one."""
        if self._stop.is_set():
            return
        with self._lock:
            hung = self._thread
        if hung is not None:
            self.abandoned.append(hung)
        log.error("job %s hung its worker thread; starting a new one (the hung thread cannot be stopped)", job_id)
        self._start_worker()

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

    def _loop(self, generation: int, owner: str) -> None:
        last_recover = time.monotonic()
        while not self._stop.is_set() and generation == self._generation:
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
                            self._stop.is_set, owner=owner, on_done=self.publisher.enqueue, on_stall=self._on_stall)
                finally:
                    if generation == self._generation:
                        self.current = None
            except (Exception, SystemExit):  # noqa: BLE001 - the worker must outlive one bad job or a DB blip
                log.exception("job worker error")
                self._stop.wait(self.settings.job_poll_s)
