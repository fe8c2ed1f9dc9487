"""One pool worker (``civicwatch worker``): Celery tasks over the database queue, and its sweep.

A worker needs the broker, the database and the evidence storage, nothing of the web process.
Its tasks carry only row ids; the rows say what to do, and every step is conditional on the row's
state and lease, so a task delivered twice (a redelivery, a sweep's re-publish) does nothing the
second time. The pool runs one task per worker by default (``--pool solo``): the pipeline already
uses both cores of a small machine, and a SIGKILL then takes the whole worker and its task down
together, which is the failure the lease and ``acks_late`` recover from.

A job or segment whose analysis hangs is failed by its heartbeat (``service.jobs.stall``), and
the worker process then exits (status ``EXIT_STALLED``): the task runs on the pool's own thread,
which nothing can interrupt (Celery's time limits need the prefork pool), so only the process's end
frees the slot. Its supervisor (systemd, the container runtime) starts it again; the task's message,
never acknowledged, comes back to a worker that finds the job failed and does nothing. With
``--concurrency`` above one, the other tasks of that process go down with it and come back through
their leases, a crash as any other.

The sweep (every third of ``job_lease_s``) puts work whose worker died back in the queue and
publishes it again: jobs and segments whose lease ran out, split jobs whose segments all ended
but which were never finished. Any live worker does it; the conditional UPDATE lets one win.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from celery import signals
from sqlalchemy import inspect

from service.blobstore import evidence_store
from service.config import Settings
from service.db import make_engine, make_session_factory, session_scope
from service.jobs.celery_app import JOB_TASK, PUBLISH_TASK, QUEUE, SEGMENT_TASK, TaskSender, make_celery
from service.jobs.lease import Heartbeat, new_owner, requeue_expired, requeue_expired_segments
from service.jobs.segments import finish_parent, run_segment, split_job, stuck_parents
from service.jobs.stall import Liveness
from service.jobs.work import AnalyzeFn, _run_claimed, claim, default_analyze_fn, stall_watch
from service.jobs.worker_metrics import WorkerMetrics
from service.models import Job

log = logging.getLogger(__name__)

EXIT_STALLED = 75  # EX_TEMPFAIL: a hung analysis was failed; restart the worker to free its slot


class SchemaMissing(RuntimeError):
    """The database has not been migrated to this version (start the service once)."""


class MetricsPortError(RuntimeError):
    """The metrics port cannot be served (taken by another process, not allowed)."""


class PoolWorker:
    def __init__(self, settings: Settings, analyze_fn: AnalyzeFn | None = None,
                 make_options: Callable[[dict], Any] | None = None, name: str | None = None):
        self.settings = settings
        self.engine = make_engine(settings)
        self.factory = make_session_factory(self.engine)
        if analyze_fn is None:
            analyze_fn, default_options = default_analyze_fn(settings)
            make_options = make_options or default_options
        self.analyze_fn = analyze_fn
        self.make_options = make_options or (lambda extra: dict(extra))
        self.name = name or f"{socket.gethostname()}:{new_owner().split(':', 1)[1]}"
        self.owner = new_owner()
        self.stopping = threading.Event()
        self.celery = make_celery(settings)
        self.sender = TaskSender(self.celery)
        self.metrics = WorkerMetrics(self.factory, settings, self.name)
        self._sweeper: threading.Thread | None = None
        self._exit: Callable[[int], Any] = os._exit  # replaced by tests; see _on_stall
        self._register()

    # -- tasks ---------------------------------------------------------------------------------
    def _register(self) -> None:
        opts = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}
        self.celery.task(name=JOB_TASK, **opts)(self.job)
        self.celery.task(name=SEGMENT_TASK, **opts)(self.segment)
        self.celery.task(name=PUBLISH_TASK, **opts)(self.publish)

    def job(self, job_id: int) -> str:
        """A queued job: split it when long (publishing its segments), else run it whole."""
        s = self.settings
        self.metrics.busy.set(1)
        try:
            if not claim(self.factory, job_id, s.job_max_attempts, self.owner, s.job_lease_s):
                return "not queued"
            segments = split_job(self.factory, s, job_id, self.owner)
            if segments:
                for seg_id in segments:
                    self.sender.segment(seg_id)
                return f"split into {len(segments)}"
            liveness = Liveness()
            with Heartbeat(self.factory, job_id, self.owner, s.job_lease_s,
                           watch=stall_watch(s, liveness, self._on_stall)):
                state = _run_claimed(job_id, self.factory, s, self.analyze_fn, self.make_options,
                                     self.stopping.is_set, self.owner, self.sender.publish, liveness=liveness)
            if state == "queued":  # handed back at shutdown: another worker takes it
                self.sender.job(job_id)
            elif state is not None:
                with session_scope(self.factory) as db:
                    row = db.get(Job, job_id)
                    video, spent = row.video_seconds or 0.0, row.processing_seconds or 0.0
                self.metrics.finished("job", state, video, spent)
            return str(state)
        finally:
            self.metrics.busy.set(0)

    def segment(self, segment_id: int) -> str:
        self.metrics.busy.set(1)
        try:
            out = run_segment(segment_id, self.factory, self.settings, self.analyze_fn, self.make_options,
                              self.stopping.is_set, self.owner, on_stall=self._on_stall)
            if out.retry:
                self.sender.segment(segment_id)
            if out.state in ("done", "failed", "cancelled"):
                self.metrics.finished("segment", out.state, out.video_s, out.processing_s)
            if out.new_cases:
                self.sender.publish(list(out.new_cases))
            return str(out.state)
        finally:
            self.metrics.busy.set(0)

    def _on_stall(self, row_id: int) -> None:
        """The heartbeat failed a hung job or segment: end the process (module docstring: why)."""
        log.critical("the analysis of %s hung (no progress for job_stall_s); the worker exits with status %d "
                     "to free its slot: its supervisor restarts it", row_id, EXIT_STALLED)
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(EXIT_STALLED)

    def publish(self, case_ids: list[str]) -> int:
        """Exposure-screen media of new cases, made off the analysis tasks (service.publication)."""
        from service.publication import prepare_published

        return prepare_published(self.factory, self.settings, list(case_ids), self.stopping.is_set)

    # -- sweep ---------------------------------------------------------------------------------
    def sweep(self) -> None:
        for job_id in requeue_expired(self.factory):
            log.info("job %s: its worker stopped renewing the lease; queued again", job_id)
            self.sender.job(job_id)
        for seg_id in requeue_expired_segments(self.factory):
            log.info("segment %s: its worker stopped renewing the lease; queued again", seg_id)
            self.sender.segment(seg_id)
        for job_id in stuck_parents(self.factory):
            finish_parent(self.factory, job_id, evidence_store(self.settings))

    def _sweep_loop(self) -> None:
        while not self.stopping.wait(max(0.5, self.settings.job_lease_s / 3)):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - a broker or database blip: the next sweep tries again
                log.warning("sweep failed", exc_info=True)

    # -- running -------------------------------------------------------------------------------
    def check_schema(self) -> None:
        if "job_segments" not in inspect(self.engine).get_table_names():
            raise SchemaMissing("the database lacks this version's tables: start the service "
                                "(civicwatch serve) once against it to migrate")

    def run(self, concurrency: int = 1, loglevel: str = "INFO", metrics_port: int | None = None) -> None:
        self.check_schema()
        self.settings.ensure_dirs()
        port = self.settings.worker_metrics_port if metrics_port is None else metrics_port
        if port:  # before the model is loaded: a port taken fails in a second
            from service.metrics_http import serve_metrics

            host = self.settings.worker_metrics_host
            try:
                serve_metrics(port, self.metrics.registry, self.settings.metrics_token, addr=host)
            except (OSError, OverflowError) as err:
                raise MetricsPortError(f"cannot serve metrics on {host}:{port}: {getattr(err, 'strerror', None) or err} "
                                       "(another worker on this machine? give each its own --metrics-port, or 0; "
                                       "or worker_metrics_host is not an address of this machine)") from None
            log.info("worker metrics on %s:%d/metrics", host, port)
        preload = getattr(self.analyze_fn, "preload", None)
        if preload is not None:
            try:
                preload()
            except Exception:  # noqa: BLE001 - the first task fails with the reason instead
                log.exception("could not load the analysis model")
        signals.worker_shutting_down.connect(lambda **_: self.stopping.set(), weak=False)
        self._sweeper = threading.Thread(target=self._sweep_loop, name="civicwatch-sweep", daemon=True)
        self._sweeper.start()
        pool = "solo" if concurrency <= 1 else "threads"
        worker = self.celery.Worker(pool=pool, concurrency=max(1, concurrency), loglevel=loglevel,
                                    queues=[QUEUE], hostname=f"civicwatch@{self.name}", without_gossip=True,
                                    without_mingle=True, without_heartbeat=True, optimization="fair")
        try:
            worker.start()
        finally:
            self.stopping.set()
            self.engine.dispose()
