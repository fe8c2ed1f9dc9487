"""The worker pool's Celery app: delivery settings and the names of its tasks.

Why Celery on Redis: the job queue of record stays the database (states, leases, tries, progress,
cancellation: ``service.jobs.lease``), so the broker only has to carry "job 12 / segment 40 is
ready" to some worker, survive a worker's death and spread work across machines. Celery is the
established Python engine for that, with Redis (one small, common server) as broker.

Delivery, chosen so a worker killed mid-segment loses nothing and repeats nothing:

* ``task_acks_late``: a task is acknowledged when it ends, not when it starts, so a task whose
  worker died is still the broker's and is handed out again.
* ``task_reject_on_worker_lost``: under a prefork pool a child killed mid-task is requeued, not
  acknowledged as failed.
* ``worker_prefetch_multiplier = 1``: a worker holds only the task it runs; a second one waiting
  behind a 60 s segment would sit idle while another worker has nothing to do.
* ``visibility_timeout`` (``broker_visibility_timeout_s``): Redis gives an unacknowledged task to
  another worker after this long, also when the first is alive and still working. A segment's run
  is its pre-roll, its span and the evidence post-roll read at the worker's speed: 60 s + a
  pre-roll of up to 5 minutes (a no-parking limit) at 0.3x real time is about 20 minutes, so
  the default of 2 hours is well clear of it. Were it too short, the second delivery would still
  do nothing: a claim is a conditional UPDATE on the segment's row and the first worker holds its
  lease. The faster path to recovery is the lease itself: a dead worker stops renewing it, and any
  live worker's sweep (every ``job_lease_s``) puts the segment back in the queue and publishes it
  again, long before the visibility timeout.
* Bounded tries: the database's ``attempts`` counter per job and per segment
  (``job_max_attempts``), not Celery's retry, so that a crash (which Celery cannot count) and an
  error count the same way and the operator sees the count.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from service.config import Settings

QUEUE = "civicwatch"
JOB_TASK = "civicwatch.job"
SEGMENT_TASK = "civicwatch.segment"
PUBLISH_TASK = "civicwatch.publish"


def make_celery(settings: Settings) -> Celery:
    app = Celery("civicwatch", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": int(settings.broker_visibility_timeout_s)},
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # outcomes live in the database
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


class TaskSender:
    """Publishes the pool's tasks by name (the web process imports no task code)."""

    def __init__(self, app: Celery):
        self.app = app

    def job(self, job_id: int, countdown: float | None = None) -> None:
        self._send(JOB_TASK, job_id, countdown)

    def segment(self, segment_id: int, countdown: float | None = None) -> None:
        self._send(SEGMENT_TASK, segment_id, countdown)

    def publish(self, case_ids: list[str]) -> None:
        if case_ids:
            self.app.send_task(PUBLISH_TASK, args=[list(case_ids)], queue=QUEUE)

    def _send(self, name: str, row_id: int, countdown: float | None) -> None:
        opts: dict[str, Any] = {"queue": QUEUE}
        if countdown:
            opts["countdown"] = countdown
        self.app.send_task(name, args=[int(row_id)], **opts)


def queue_depth(settings: Settings) -> int | None:
    """Tasks waiting in the broker (Redis list length); None when the broker does not answer."""
    import redis

    try:
        client = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return int(client.llen(QUEUE))
        finally:
            client.close()
    except redis.RedisError:
        return None
