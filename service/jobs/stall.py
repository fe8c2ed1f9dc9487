"""A job whose analysis stopped making progress: noticed, failed, and its worker freed.

A lease only tells a dead worker from a live one: a worker whose analysis hangs (a decoder stuck
on a broken stream, a deadlocked thread, an NFS read that never returns) keeps renewing its lease
from the heartbeat thread, so its job stayed "running" for good, progress frozen, the worker slot
lost. The pipeline calls back all the time while it works (a cancel check and a progress report
per analysed frame), so the time since its last call back is what ``job_stall_s`` limits.

Only the call to the pipeline is watched: the steps before and after it (the run folder, storing
the evidence, ingesting the cases) report nothing and have their own failure handling.

Python cannot stop a thread, so the hung call itself is never interrupted. The heartbeat fails
the job (conditional on the lease, like every worker write, so a job that just ended or changed
hands is left alone) and hands the runner the choice of how to free the slot: the in-process
runner abandons the hung thread and starts a fresh one, a pool worker process exits for its
supervisor to restart it (``service.jobs.inprocess``, ``service.jobs.worker``). Should the hung
call ever return, its result is dropped as that of a worker that lost its lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import session_scope
from service.models import Job, JobSegment, utcnow

if TYPE_CHECKING:
    from service.blobstore import BlobStore

log = logging.getLogger(__name__)

STALLED_CODE = "job_stalled"  # the start of the job's error; the pages' sentence is error.job_stalled


def stalled_error(idle_s: float, limit_s: float) -> str:
    return (
        f"{STALLED_CODE}: the analysis made no progress for {idle_s:.0f} s (job_stall_s = {limit_s:g}): "
        "a stuck decoder, a deadlock or storage that does not answer; its worker was freed, retry the job"
    )


class Liveness:
    """When the pipeline last called back; watched only while ``armed`` (during the pipeline call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = time.monotonic()
        self._armed = False

    def touch(self) -> None:
        with self._lock:
            self._at = time.monotonic()

    def arm(self) -> None:
        with self._lock:
            self._at, self._armed = time.monotonic(), True

    def disarm(self) -> None:
        with self._lock:
            self._armed = False

    def idle_s(self) -> float:
        """Seconds since the last call back while armed; 0 while not armed."""
        with self._lock:
            return time.monotonic() - self._at if self._armed else 0.0


@dataclass
class StallWatch:
    """What a heartbeat needs to watch its job: the limit (seconds, > 0), the pipeline's liveness,
    and what the runner does to free the worker once the job was failed (``on_stall(job_id)``)."""

    limit_s: float
    liveness: Liveness
    on_stall: Callable[[int], None] | None = None
    # where evidence lives (``evidence_store(settings)``, or a data folder), for finishing a split
    # job whose segment stalled: the parent reads its other segments' reports from there
    evidence: BlobStore | Path | None = None


def fail_stalled(
    factory: sessionmaker[Session],
    row_id: int,
    owner: str,
    error: str,
    model: type[Job] | type[JobSegment] = Job,
    evidence: BlobStore | Path | None = None,
) -> bool:
    """Fail the running job (or segment) ``owner`` holds; False when it is not ``owner``'s any more.

    A stalled segment ends failed, not queued for another try: the same input on another worker
    would most likely hang the same way, for another ``job_stall_s``. Its parent then ends failed
    naming it (``finish_parent``), and a retry of the job splits afresh."""
    with session_scope(factory) as db:
        parent = db.scalar(select(JobSegment.job_id).where(JobSegment.id == row_id)) if model is JobSegment else None
        res = db.execute(
            update(model)
            .where(model.id == row_id, model.lease_owner == owner, model.state == "running")
            .values(state="failed", error=error[:4000], finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
        )
        if res.rowcount != 1:
            return False
        if model is Job:
            db.execute(update(Job).where(Job.id == row_id).values(cancel_requested=False))
    if parent is not None:
        from service.jobs.segments import finish_parent

        finish_parent(factory, parent, evidence)
    return True


@contextmanager
def watched(liveness: Liveness | None) -> Iterator[None]:
    """Arm ``liveness`` for the pipeline call inside the block (no-op without one)."""
    if liveness is None:
        yield
        return
    liveness.arm()
    try:
        yield
    finally:
        liveness.disarm()
