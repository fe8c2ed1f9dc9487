"""A split job's outcome is given once: when the last two segments end at the same moment, both
workers call ``finish_parent``. On SQLite the parent row lock (``SELECT ... FOR UPDATE``) is a
no-op, so both read the parent as still running; the outcome write must be conditional, else
both "finish" it (each told so) and the later, stale write can land on a job that changed
meanwhile (an operator's retry of the just-failed job set back to failed)."""

from __future__ import annotations

import threading

from sqlalchemy import update

from service.db import session_scope
from service.jobs import segments as segments_mod
from service.jobs.segments import finish_parent, split_job
from service.jobs.work import claim
from service.models import Job, JobSegment

from .conftest import upload_clip
from .helpers import SHORT_CLIP


def test_two_segments_ending_together_finish_the_parent_once(env, camera, footage_dir, monkeypatch):
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5})
    factory = env.app.state.session_factory
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    assert claim(factory, job_id, settings.job_max_attempts, "w", settings.job_lease_s)
    segs = split_job(factory, settings, job_id, "w")
    assert len(segs) == 2
    with session_scope(factory) as db:
        for i, seg_id in enumerate(segs):
            db.execute(
                update(JobSegment)
                .where(JobSegment.id == seg_id)
                .values(state="done", progress=100.0, out_dir=f"jobs/{job_id}/seg-{i:03d}-run-1")
            )

    # Both callers past their read of the parent before either writes: where the database serialises
    # them (PostgreSQL's row lock) the second never gets here while the first waits, and the
    # barrier's timeout lets the first go on alone.
    barrier = threading.Barrier(2, timeout=3)
    real_reports = segments_mod.segment_reports

    def reports_after_both_read(store, segs):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return real_reports(store, segs)

    monkeypatch.setattr(segments_mod, "segment_reports", reports_after_both_read)
    outcomes: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(finish_parent(factory, job_id, settings.data_dir)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, outcomes)) == ["None", "done"], outcomes  # finished once, by one of them
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        assert job.state == "done" and job.lease_owner is None
