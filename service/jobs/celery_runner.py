"""The web process's side of the worker pool (``runner = "celery"``): it publishes, workers run.

``submit`` sends the job's id to the broker; a ``civicwatch worker`` anywhere claims it from the
database. At start the runner re-publishes whatever the database holds queued (a broker restarted
empty, jobs accepted while the runner was "none"): a duplicate task does nothing, a claim is
conditional. A broker that does not answer never fails an upload: the job stays queued in the
database, and every ``republish_interval_s`` the runner looks again: when the broker's queue is
empty while the database holds work queued since before the last look, that work was lost by the
broker (or never reached it) and is sent again. A broker with tasks waiting is left alone, so a
long backlog is not sent twice.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from detector.media.recorder import masked_url
from service.background_loop import BackgroundLoop
from service.config import Settings
from service.jobs.celery_app import TaskSender, make_celery, queue_depth
from service.jobs.lease import requeue_expired, requeue_expired_segments
from service.jobs.segments import queued_work

log = logging.getLogger(__name__)


class CeleryRunner(BackgroundLoop):
    thread_name = "civicwatch-republish"

    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        super().__init__()
        self.factory, self.settings = factory, settings
        self.sender = TaskSender(make_celery(settings))

    def submit(self, job_id: int) -> None:
        try:
            self.sender.job(job_id)
        except Exception:  # noqa: BLE001 - the job stays queued in the database; a start resends it
            log.exception("could not publish job %s to the broker %s", job_id, masked_url(self.settings.broker_url))

    def start(self) -> None:
        self._start_thread()  # in a thread: a broker that is down must not hold up the web process's start

    def _loop(self) -> None:
        self._republish()
        seen: tuple[set[int], set[int]] = (set(), set())
        while not self._stop.wait(self.settings.republish_interval_s):
            try:
                seen = self._check(seen)
            except Exception:  # noqa: BLE001 - a database or broker blip: look again next time
                log.exception("could not check the pool's queue")

    def _check(self, seen: tuple[set[int], set[int]]) -> tuple[set[int], set[int]]:
        """Send queued work again when the broker holds none of it; returns what is queued now."""
        jobs, segments = (set(ids) for ids in queued_work(self.factory))
        waited = (jobs & seen[0]) | {-s for s in segments & seen[1]}
        if waited and queue_depth(self.settings) == 0:
            log.warning("the broker holds no task while %d queued item(s) waited %.0f s: sending them again",
                        len(waited), self.settings.republish_interval_s)
            self._republish()
        return jobs, segments

    def _republish(self) -> None:
        try:
            requeue_expired(self.factory)
            requeue_expired_segments(self.factory)
            jobs, segments = queued_work(self.factory)
            for job_id in jobs:
                self.sender.job(job_id)
            for seg_id in segments:
                self.sender.segment(seg_id)
            if jobs or segments:
                log.info("published %d queued jobs and %d queued segments to the pool", len(jobs), len(segments))
        except Exception:  # noqa: BLE001
            log.exception("could not re-publish queued work to the broker %s", masked_url(self.settings.broker_url))


def job_publisher(settings: Settings):  # noqa: ANN201
    """For processes that queue jobs outside the web process (``civicwatch record --camera``):
    a callable that publishes new job ids to the pool when the runner is "celery", else None (the
    in-process runner finds queued jobs by polling the database)."""
    if settings.runner != "celery":
        return None
    sender = TaskSender(make_celery(settings))

    def publish(job_ids: list[int]) -> None:
        for job_id in job_ids:
            try:
                sender.job(job_id)
            except Exception:  # noqa: BLE001 - the job stays queued; the service's next start resends it
                log.exception("could not publish job %s to the broker", job_id)

    return publish
