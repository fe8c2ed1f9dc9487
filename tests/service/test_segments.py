"""Split jobs on the real databases (SQLite and PostgreSQL), the pipeline replaced by copies of a
real evidence run: a segment retried twice writes no second case, poison input ends failed after
the bounded tries with its error, cancelling the parent reaches a running segment, and the
parent's progress is the sum of its segments'."""

from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.db import session_scope
from service.jobs.segments import run_segment, split_job
from service.jobs.work import claim
from service.models import Case, Job, JobSegment

from .conftest import upload_clip
from .helpers import SHORT_CLIP, rewrite_run_file

OWNER = "test-worker"


def _split(env, footage_dir, **changes):
    """A queued job of the short real clip, claimed and split in two segments."""
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5, **changes})
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    factory = env.app.state.session_factory
    assert claim(factory, job_id, settings.job_max_attempts, OWNER, settings.job_lease_s)
    segments = split_job(factory, settings, job_id, OWNER)
    assert len(segments) == 2
    return settings, factory, job_id, segments


def _copying(template, tries):
    """An analyze function that leaves a copy of a real run, naming its cases anew on every try
    (so only the dedup key, not the case id, can recognise a retried segment's cases)."""

    def analyze(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        tries.append(options["span"])
        shutil.copytree(template, out_dir)
        cases = json.loads((out_dir / "cases.json").read_text())
        for c in (cases["cases"] if isinstance(cases, dict) else cases):
            c["id"] = f"{c['id']}-try{len(tries)}"
        rewrite_run_file(out_dir, "cases.json", json.dumps(cases))  # the manifest says so too

    return analyze


def test_segment_retried_twice_writes_no_second_case(env, camera, footage_dir, evidence_template):
    settings, factory, job_id, segments = _split(env, footage_dir)
    tries = []
    analyze = _copying(evidence_template, tries)
    first = run_segment(segments[0], factory, settings, analyze, dict, lambda: False, OWNER)
    assert first.state == "done" and len(first.new_cases) == 2
    for _ in range(2):  # the same segment again, as a redelivery or a re-split job runs it
        with session_scope(factory) as db:
            db.get(JobSegment, segments[0]).state = "queued"
        again = run_segment(segments[0], factory, settings, analyze, dict, lambda: False, OWNER)
        assert again.state == "done" and again.new_cases == ()
    assert len(tries) == 3
    with session_scope(factory) as db:
        rows = list(db.scalars(select(Case).where(Case.job_id == job_id)))
        assert sorted(r.id for r in rows) == sorted(first.new_cases)
        assert all(r.dedup_key for r in rows)
        # the database itself refuses a second row for the same case
        twin = rows[0]
        db.add(Case(id="J-twin", pipeline_id="x", job_id=job_id, camera_id=twin.camera_id, rule=twin.rule,
                    start_s=0.0, end_s=1.0, out_dir="x", evidence_dir="x", dedup_key=twin.dedup_key))
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()
    # the other segment ends the parent: done, with both segments' spans owned once
    last = run_segment(segments[1], factory, settings, analyze, dict, lambda: False, OWNER)
    assert last.state == "done" and last.parent == "done"
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        assert (job.state, job.progress, job.cases_found) == ("done", 100.0, 4)
        # the stand-in does not sign: its runs are taken with a warning, kept when the parent ends
        assert [w for w in job.warnings if "not signed" in w] == [job.warnings[0]] and len(job.warnings) == 1
    # the operator sees the parts: each span, its state, cases and the worker that ran it
    report = env.operator.get(f"/api/jobs/{job_id}").json()
    assert [(p["index"], p["state"], p["cases_found"], p["worker"] is not None) for p in report["segments"]] == [
        (0, "done", 2, True), (1, "done", 2, True)]
    assert report["segments"][0]["span"][1] == report["segments"][1]["span"][0]


def test_poison_segment_fails_after_bounded_tries(env, camera, footage_dir):
    settings, factory, job_id, segments = _split(env, footage_dir, job_max_attempts=3)
    calls = []

    def poison(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        calls.append(options["span"])
        raise ValueError("moov atom not found")

    outcomes = []
    while True:
        out = run_segment(segments[0], factory, settings, poison, dict, lambda: False, OWNER)
        outcomes.append(out.state)
        if not out.retry:
            break
    assert outcomes == ["queued", "queued", "failed"] and len(calls) == 3
    with session_scope(factory) as db:
        seg = db.get(JobSegment, segments[0])
        assert seg.attempts == 3 and "moov atom not found" in seg.error
        # a fourth delivery of the task does nothing
    assert run_segment(segments[0], factory, settings, poison, dict, lambda: False, OWNER).state is None

    def fine(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        out_dir.mkdir(parents=True)
        (out_dir / "cases.json").write_text("[]")
        (out_dir / "manifest.json").write_text('{"files": []}')

    assert run_segment(segments[1], factory, settings, fine, dict, lambda: False, OWNER).parent == "failed"
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        assert job.state == "failed" and "segment 1 of 2" in job.error and "moov atom not found" in job.error


def test_cancel_reaches_a_running_segment_and_progress_sums(env, camera, footage_dir):
    settings, factory, job_id, segments = _split(env, footage_dir)
    seen = {}

    def slow(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        class P:
            fraction = 0.5

        progress(P())
        with session_scope(factory) as db:
            seen["parent_progress"] = db.get(Job, job_id).progress
        # the operator cancels the parent (what POST /api/jobs/{id}/cancel writes)
        r = env.operator.post(f"/api/jobs/{job_id}/cancel")
        assert r.status_code == 200, r.text
        while not should_cancel():
            pass
        raise RuntimeError("Cancelled: stopped at the operator's request")

    out = run_segment(segments[0], factory, settings, slow, dict, lambda: False, OWNER)
    assert out.state == "cancelled"
    # half of the first segment (1.0 s of the 2.3 s source) is about a fifth of the job
    assert seen["parent_progress"] == pytest.approx(100 * 0.5 * 1.0 / 2.3, abs=0.2)
    # the queued segment is never run; it ends the parent as cancelled
    late = run_segment(segments[1], factory, settings, slow, dict, lambda: False, OWNER)
    assert late.state is None
    with session_scope(factory) as db:
        assert db.get(JobSegment, segments[1]).state == "cancelled"
        assert db.get(Job, job_id).state == "cancelled"


def test_recorder_jobs_published_to_the_pool(tmp_path):
    """``civicwatch record --camera`` queues jobs outside the web process: with runner "celery"
    they are published to the real Redis broker at once; in-process, the poll finds them."""
    import redis

    from service.config import Settings
    from service.jobs.celery_app import QUEUE
    from service.jobs.celery_runner import job_publisher

    broker = "redis://127.0.0.1:6379/11"
    client = redis.Redis.from_url(broker)
    client.flushdb()
    assert job_publisher(Settings(data_dir=tmp_path, runner="inprocess")) is None
    job_publisher(Settings(data_dir=tmp_path, runner="celery", broker_url=broker))([41, 42])
    messages = [json.loads(m) for m in client.lrange(QUEUE, 0, -1)]
    assert sorted(m["headers"]["task"] for m in messages) == ["civicwatch.job", "civicwatch.job"]
    assert sorted(m["headers"]["argsrepr"] for m in messages) == ["[41]", "[42]"]
    client.flushdb()


def test_work_the_broker_lost_is_sent_again(env, camera, footage_dir):
    """A queued job whose task the broker no longer holds (restarted empty, or a publish that failed
    while it was down) is sent again by the web process's runner once it has waited an interval;
    a broker with tasks waiting is left alone. Real Redis, a database of its own."""
    import redis

    from service.jobs.celery_app import QUEUE
    from service.jobs.celery_runner import CeleryRunner

    settings = env.settings.model_copy(update={"runner": "celery", "broker_url": "redis://127.0.0.1:6379/11",
                                               "republish_interval_s": 0.3})
    broker = redis.Redis.from_url(settings.broker_url)
    broker.delete(QUEUE)
    factory = env.app.state.session_factory
    runner = CeleryRunner(factory, settings)
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]  # queued in the database
    try:
        seen = runner._check((set(), set()))  # first look: nothing has waited yet
        assert job_id in seen[0] and broker.llen(QUEUE) == 0
        broker.rpush(QUEUE, b"someone else's task")
        seen = runner._check(seen)  # the broker holds work: left alone
        assert broker.llen(QUEUE) == 1
        broker.delete(QUEUE)
        runner._check(seen)  # it waited, the broker lost it: sent again
        sent = [m.decode() for m in broker.lrange(QUEUE, 0, -1)]
        assert len(sent) == 1 and f"[{job_id}]" in sent[0].replace(" ", ""), sent
    finally:
        broker.delete(QUEUE)
        broker.close()


def test_a_full_disk_before_a_segment_runs_is_its_recorded_reason(env, camera, footage_dir, monkeypatch):
    """The segment's scene copy is written before the pipeline. On a full disk that write raised out
    of the task: the segment stayed 'running' (its lease renewed by nobody), no reason recorded."""
    import errno
    import pathlib

    settings, factory, job_id, segments = _split(env, footage_dir, job_max_attempts=1)
    real_write_text = pathlib.Path.write_text

    def full_disk_for_scene_copies(self, *args, **kwargs):  # noqa: ANN001
        if self.name.endswith(".scene.yaml"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk_for_scene_copies)
    calls = []

    def analyze(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        calls.append(options["span"])

    out = run_segment(segments[0], factory, settings, analyze, dict, lambda: False, OWNER)
    assert (out.state, out.retry, calls) == ("failed", False, [])
    with session_scope(factory) as db:
        seg = db.get(JobSegment, segments[0])
        assert seg.state == "failed" and "No space left on device" in seg.error and seg.lease_owner is None


def test_a_retried_split_job_whose_worker_died_before_splitting_it_again_is_queued_again(
        env, camera, footage_dir):
    """The operator retries a failed split job; a worker claims it (its lease) and dies before it
    splits the job afresh, so the previous try's segment rows are still there. A dead worker's job
    is queued again once its lease runs out; this one was skipped for having segments (the test
    meant "a parent while split", which holds no lease), and no sweep finishes it either (it is not
    split): it stayed "running" for good, nobody working on it."""
    from datetime import timedelta

    from service.jobs.lease import requeue_expired
    from service.jobs.segments import stuck_parents
    from service.models import utcnow

    settings, factory, job_id, segments = _split(env, footage_dir, job_max_attempts=1)

    def poison(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        raise ValueError("moov atom not found")

    outcomes = [run_segment(s, factory, settings, poison, dict, lambda: False, OWNER) for s in segments]
    assert outcomes[-1].parent == "failed"
    settings = settings.model_copy(update={"job_max_attempts": 3})  # the crash uses one of the retry's tries
    assert env.operator.post(f"/api/jobs/{job_id}/retry").status_code == 200
    assert claim(factory, job_id, settings.job_max_attempts, "dies-before-splitting", settings.job_lease_s)
    with session_scope(factory) as db:  # the worker is gone: nobody renews its lease
        db.get(Job, job_id).lease_expires_at = utcnow() - timedelta(seconds=1)

    assert requeue_expired(factory) == [job_id]
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        assert (job.state, job.lease_owner) == ("queued", None)
    # and it runs: claimed and split afresh, new segments queued
    assert claim(factory, job_id, settings.job_max_attempts, OWNER, settings.job_lease_s)
    again = split_job(factory, settings, job_id, OWNER)
    assert len(again) == 2 and stuck_parents(factory) == [job_id]
    # a parent while split holds no lease of its own: the sweep never re-queues it
    assert requeue_expired(factory) == []


def test_cancelling_a_split_job_ends_its_queued_segments_at_once(env, camera, footage_dir):
    """A split job's segments wait in the broker's queue behind other work. The operator cancels:
    segments still queued end cancelled at once, and a job none of whose segments runs ends
    cancelled at once. They stayed queued until a worker reached each one (behind a backlog,
    hours), the job "running" on the jobs page all that while, its Cancel seemingly ignored."""
    from service.jobs.segments import claim_segment

    settings, factory, job_id, segments = _split(env, footage_dir)
    r = env.operator.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    with session_scope(factory) as db:
        assert [db.get(JobSegment, s).state for s in segments] == ["cancelled", "cancelled"]
        job = db.get(Job, job_id)
        assert (job.state, job.cancel_requested, job.lease_owner) == ("cancelled", False, None)
    # a late delivery of a segment's task does nothing
    assert run_segment(segments[0], factory, settings, lambda *a, **k: None, dict, lambda: False, OWNER).state is None

    # one segment running: the queued one ends at once, the job when the running one stops
    assert env.operator.post(f"/api/jobs/{job_id}/retry").status_code == 200
    assert claim(factory, job_id, settings.job_max_attempts, OWNER, settings.job_lease_s)
    first, second = split_job(factory, settings, job_id, OWNER)
    assert claim_segment(factory, first, settings, OWNER)
    r = env.operator.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "running" and r.json()["cancel_requested"], r.text
    with session_scope(factory) as db:
        assert (db.get(JobSegment, first).state, db.get(JobSegment, second).state) == ("running", "cancelled")

    def stops(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        assert should_cancel()
        raise RuntimeError("Cancelled: stopped at the operator's request")

    from service.jobs.segments import _run_claimed

    out = _run_claimed(first, factory, settings, stops, dict, lambda: False, OWNER)
    assert (out.state, out.parent) == ("cancelled", "cancelled")


def test_a_split_job_failed_by_one_segment_keeps_the_other_segments_warnings(env, camera, footage_dir,
                                                                             evidence_template):
    """One segment fails for good; the others were analysed and their cases wait for review under
    the failed job. Their analysis's warnings (a truncated file, frames nothing was judged in) say
    how far those cases can be trusted; the failed job dropped them, saying only which span failed."""
    from .helpers import copy_run

    settings, factory, job_id, segments = _split(env, footage_dir, job_max_attempts=1)

    def with_warning(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        copy_run(evidence_template, out_dir)
        data = json.dumps({"warnings": ["frames 12-30 could not be decoded: a damaged stretch"]}).encode()
        (out_dir / "analysis.json").write_bytes(data)
        manifest = json.loads((out_dir / "manifest.json").read_text())
        manifest["files"].append({"path": "analysis.json", "sha256": hashlib.sha256(data).hexdigest(),
                                  "size": len(data)})
        (out_dir / "manifest.json").write_text(json.dumps(manifest))

    def poison(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        raise ValueError("moov atom not found")

    assert run_segment(segments[0], factory, settings, with_warning, dict, lambda: False, OWNER).state == "done"
    assert run_segment(segments[1], factory, settings, poison, dict, lambda: False, OWNER).parent == "failed"
    with session_scope(factory) as db:
        job = db.get(Job, job_id)
        assert job.state == "failed" and "segment 2 of 2 (1.0-2.3 s) failed" in job.error
        assert job.cases_found == 2
        assert "frames 12-30 could not be decoded: a damaged stretch" in (job.warnings or []), job.warnings


def test_a_retried_segment_does_not_take_the_jobs_progress_back(env, camera, footage_dir):
    """A segment that fails with tries left goes back to the queue and its retry starts again at 0 %.
    The parent's progress was recomputed from its segments at the retry's first report, and the
    operator's job went from a third done back to a few percent. The job's progress now holds at
    the most it has shown until the segments pass it again; the segment's own row says where its
    retry is, and that it is a retry."""
    settings, factory, job_id, segments = _split(env, footage_dir, job_max_attempts=3)
    shown = []  # the job's progress as the operator reads it, at every report

    def report(progress, fraction):
        class P:
            pass

        P.fraction = fraction
        progress(P())
        job = env.operator.get(f"/api/jobs/{job_id}").json()
        shown.append(job["progress"])
        return job

    def first_try(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        report(progress, 0.8)
        raise RuntimeError("the worker's storage mount went away")

    assert run_segment(segments[0], factory, settings, first_try, dict, lambda: False, OWNER).retry
    reached = shown[-1]
    # 80 % of the first segment (1.0 s of the 2.3 s source)
    assert reached == pytest.approx(100 * 0.8 * 1.0 / 2.3, abs=0.2)

    def second_try(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        parts.append([(p["state"], p["progress"], p["attempts"]) for p in report(progress, 0.1)["segments"]])
        time.sleep(0.6)  # past the progress throttle: the retry's next report is written
        report(progress, 0.9)
        raise RuntimeError("the mount went away again")

    parts = []  # (an assert inside the stand-in pipeline would be taken for its failure)
    assert run_segment(segments[0], factory, settings, second_try, dict, lambda: False, OWNER).retry
    assert shown[1] == reached
    # the segment tells the truth about its retry: where it is, and that it is the second try
    assert parts == [[("running", 10.0, 2), ("queued", 0.0, 0)]]
    # the retry passed what the first try had reached: the job moves on from there
    assert shown[2] == pytest.approx(100 * 0.9 * 1.0 / 2.3, abs=0.2) and shown[2] > reached

    # the other segment reports while the first waits for its third try: still no step back
    def other(source, scene_path, out_dir, options, progress=None, should_cancel=None):
        report(progress, 0.1)
        raise RuntimeError("and once more")

    assert run_segment(segments[1], factory, settings, other, dict, lambda: False, OWNER).retry
    assert shown == sorted(shown), shown
    with session_scope(factory) as db:
        assert db.get(Job, job_id).progress == shown[-1]


def test_a_cancelled_split_job_keeps_delivered_cases_and_its_retry_adds_no_copy(env, camera, footage_dir,
                                                                                evidence_template):
    """What README's "Split uploads" says of a cancel: cases a finished segment delivered stay in
    the review queue (they were judged whole, as a failed job's are), and a retry on the same scene
    version adds no second copy of them."""
    settings, factory, job_id, segments = _split(env, footage_dir)
    tries = []
    analyze = _copying(evidence_template, tries)
    first = run_segment(segments[0], factory, settings, analyze, dict, lambda: False, OWNER)
    assert first.state == "done" and len(first.new_cases) == 2
    r = env.operator.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    with session_scope(factory) as db:
        kept = {c.id: c.state for c in db.scalars(select(Case).where(Case.job_id == job_id))}
    assert kept == {cid: "pending" for cid in first.new_cases}

    assert env.operator.post(f"/api/jobs/{job_id}/retry").status_code == 200
    assert claim(factory, job_id, settings.job_max_attempts, OWNER, settings.job_lease_s)
    again = split_job(factory, settings, job_id, OWNER)
    outcomes = [run_segment(s, factory, settings, analyze, dict, lambda: False, OWNER) for s in again]
    assert outcomes[0].new_cases == () and len(outcomes[1].new_cases) == 2 and outcomes[1].parent == "done"
    with session_scope(factory) as db:
        rows = list(db.scalars(select(Case).where(Case.job_id == job_id)))
        assert len(rows) == 4 and set(first.new_cases) <= {r.id for r in rows}
        assert db.get(Job, job_id).cases_found == 4
