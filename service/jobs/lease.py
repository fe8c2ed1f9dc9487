"""Who owns a running job: a lease the worker renews while it works.

"Running at start-up means dead" was wrong as soon as two processes share a data folder (a
second ``serve``, even one that then fails to bind its port, re-queued the live server's job).
A job is now owned by the worker named in ``lease_owner`` until ``lease_expires_at``; the worker
renews the lease from a heartbeat thread, and only a lease that ran out marks a dead worker.
Every write a worker makes to its job is conditional on still holding the lease, so a worker
that lost its job (stopped, or declared dead) can never overwrite the job's new owner.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import session_scope
from service.jobs.stall import STALLED_CODE, StallWatch, fail_stalled, stalled_error
from service.models import Job, JobSegment, utcnow

log = logging.getLogger(__name__)


def new_owner() -> str:
    """A name unique to this worker (host and pid for people reading the table, random for safety)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def expires(lease_s: float):  # noqa: ANN201
    return utcnow() + timedelta(seconds=lease_s)


def renew(factory: sessionmaker[Session], job_id: int, owner: str, lease_s: float,
          model: type[Job] | type[JobSegment] = Job) -> bool:
    """Extend the lease; False when the job (or segment: ``model``) is no longer this worker's."""
    with session_scope(factory) as db:
        res = db.execute(update(model).where(model.id == job_id, model.lease_owner == owner, model.state == "running")
                         .values(lease_expires_at=expires(lease_s)))
        return res.rowcount == 1


def holds(db: Session, job_id: int, owner: str) -> bool:
    return db.scalar(select(Job.lease_owner).where(Job.id == job_id, Job.state == "running")) == owner


SPLIT_OWNER = "split"  # lease_owner of a parent job while its segments run (it holds no lease itself)


def requeue_expired(factory: sessionmaker[Session]) -> list[int]:
    """Running jobs whose worker stopped renewing (or never had a lease: rows from before leases)
    go back to the queue; the attempt they used stays counted, a crash is an attempt. A job split
    into segments holds no lease of its own (its segments do: ``requeue_expired_segments``).

    "Split" is told by the parent's owner (``SPLIT_OWNER``), not by segment rows existing: a
    retried split job keeps its previous try's rows until a worker splits it afresh, and one whose
    worker died in between (or that now runs whole) was never queued again, left running for good."""
    now = utcnow()
    expired = ((Job.state == "running") & or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now)
               & or_(Job.lease_owner.is_(None), Job.lease_owner != SPLIT_OWNER))
    with session_scope(factory) as db:
        ids = list(db.scalars(select(Job.id).where(expired)))
        if ids:
            db.execute(update(Job).where(Job.id.in_(ids), expired).values(
                state="queued", progress=0.0, lease_owner=None, lease_expires_at=None))
        return ids


def requeue_expired_segments(factory: sessionmaker[Session]) -> list[int]:
    """Segments whose worker died (lease ran out) go back to the queue, their attempt counted."""
    expired = (JobSegment.state == "running") & or_(JobSegment.lease_expires_at.is_(None),
                                                    JobSegment.lease_expires_at < utcnow())
    with session_scope(factory) as db:
        ids = list(db.scalars(select(JobSegment.id).where(expired)))
        if ids:
            db.execute(update(JobSegment).where(JobSegment.id.in_(ids), expired).values(
                state="queued", progress=0.0, lease_owner=None, lease_expires_at=None))
        return ids


def release(factory: sessionmaker[Session], job_id: int, owner: str) -> bool:
    """A clean stop: the job goes back to the queue and the interrupted attempt is not counted."""
    with session_scope(factory) as db:
        res = db.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.state == "running")
                         .values(state="queued", progress=0.0, attempts=Job.attempts - 1, lease_owner=None,
                                 lease_expires_at=None, cancel_requested=False))
        return res.rowcount == 1


class Heartbeat:
    """Renews the lease every third of its length while the job runs (``with Heartbeat(...):``).

    Given a ``watch`` (``service.jobs.stall``), it also fails the job once the pipeline has not
    called back for ``watch.limit_s`` and stops renewing: the heartbeat is the one thread of the
    worker that is sure to keep running while the analysis hangs."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, owner: str, lease_s: float,
                 model: type[Job] | type[JobSegment] = Job, watch: StallWatch | None = None):
        self.factory, self.job_id, self.owner, self.lease_s, self.model = factory, job_id, owner, lease_s, model
        self.watch = watch if watch is not None and watch.limit_s > 0 else None
        self.stalled = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"civicwatch-lease-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)

    def _interval_s(self) -> float:
        beat = self.lease_s / 3
        return beat if self.watch is None else min(beat, self.watch.limit_s / 4)

    def _loop(self) -> None:
        renewed_at = time.monotonic()
        while not self._done.wait(self._interval_s()):
            try:
                if self.watch is not None and self._check_stall():
                    return  # failed as stalled: the lease is gone with it
                if time.monotonic() - renewed_at < self.lease_s / 3 - 1e-3:
                    continue  # a stall check between two renewals
                renewed_at = time.monotonic()
                if not renew(self.factory, self.job_id, self.owner, self.lease_s, self.model):
                    return  # not ours any more; the worker notices at its next check
            except Exception:  # noqa: BLE001 - a database blip: try again at the next beat
                log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)

    def _check_stall(self) -> bool:
        watch = self.watch
        assert watch is not None
        idle = watch.liveness.idle_s()
        if idle < watch.limit_s:
            return False
        what = "segment" if self.model is JobSegment else "job"
        if not fail_stalled(self.factory, self.job_id, self.owner, stalled_error(idle, watch.limit_s), self.model,
                            watch.evidence):
            return True  # ended or changed hands meanwhile: nothing of ours to free
        self.stalled = True
        log.error("%s %s made no progress for %.0f s (job_stall_s): failed as %s; freeing its worker",
                  what, self.job_id, idle, STALLED_CODE)
        if watch.on_stall is not None:
            watch.on_stall(self.job_id)
        return True
