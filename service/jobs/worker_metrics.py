"""Prometheus metrics of one pool worker (``civicwatch worker --metrics-port``).

What tells an operator to add workers: the queue depth growing (tasks waiting in the broker,
segments and jobs queued in the database), segments finished per second across the pool
(``rate(civicwatch_worker_segments_total[5m])``), and the analysis speed as a multiple of real
time: seconds of footage a worker finishes per second of work. A pool keeps up with N cameras
while the summed speed stays above N (docs/capacity.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.jobs.celery_app import queue_depth
from service.models import Job, JobSegment


class QueueCollector:
    """Read at scrape time: the broker's list and the database's queued rows."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        self.factory, self.settings = factory, settings

    def collect(self):
        depth = GaugeMetricFamily("civicwatch_queue_depth", "Work waiting: broker tasks, queued jobs and segments",
                                  labels=["where"])
        broker = queue_depth(self.settings)
        if broker is not None:
            depth.add_metric(["broker"], broker)
        with self.factory() as db:
            depth.add_metric(["jobs"], db.scalar(select(func.count()).select_from(Job).where(Job.state == "queued")) or 0)
            depth.add_metric(["segments"], db.scalar(
                select(func.count()).select_from(JobSegment).where(JobSegment.state == "queued")) or 0)
        yield depth


class WorkerMetrics:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, worker: str):
        self.registry = CollectorRegistry()
        labels = {"worker": worker}
        self.segments = Counter("civicwatch_worker_segments", "Segments this worker finished, by outcome",
                                ["worker", "outcome"], registry=self.registry)
        self.jobs = Counter("civicwatch_worker_jobs", "Whole (unsplit) jobs this worker finished, by outcome",
                            ["worker", "outcome"], registry=self.registry)
        self.video = Counter("civicwatch_worker_video_seconds", "Seconds of footage (own spans) analysed",
                             ["worker"], registry=self.registry).labels(**labels)
        self.processing = Counter("civicwatch_worker_processing_seconds", "Seconds spent analysing",
                                  ["worker"], registry=self.registry).labels(**labels)
        self.speed = Gauge("civicwatch_worker_speed_ratio",
                           "Last piece of work: seconds of footage per second of processing (x real time)",
                           ["worker"], registry=self.registry).labels(**labels)
        self.busy = Gauge("civicwatch_worker_busy", "1 while the worker runs a task", ["worker"],
                          registry=self.registry).labels(**labels)
        self.worker = worker
        self.registry.register(QueueCollector(factory, settings))

    def finished(self, kind: str, outcome: str, video_s: float, processing_s: float) -> None:
        counter = self.segments if kind == "segment" else self.jobs
        counter.labels(worker=self.worker, outcome=outcome).inc()
        if outcome == "done" and processing_s > 0:
            self.video.inc(video_s)
            self.processing.inc(processing_s)
            self.speed.set(video_s / processing_s)
