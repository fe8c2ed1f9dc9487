"""A case decided while its job's rerun is being ingested keeps the evidence it was decided on.

Ingest read a pending case, then wrote the rerun's evidence over it by id. A reviewer who
approved the case in between (a conditional UPDATE that won) found the approved case pointing
at the rerun's files and hashes, which nobody had looked at. The ingest now holds the row and
reads its state again before writing (service.ingest)."""

from __future__ import annotations

import json

from sqlalchemy import update

from service.ingest import ingest_run
from service.models import Case, Job, Upload


def write_run(run, clip_name: str) -> None:
    run.mkdir(parents=True, exist_ok=True)
    case = {"id": "case-0", "rule": "wrong_way", "zone": "near-lanes", "start_s": 2.0, "end_s": 3.0,
            "start_time": "2026-05-01T08:00:02+08:00", "object_class": "car", "track_ids": [7],
            "confidence": 0.9, "explanation": "x", "evidence": {"clip": f"cases/case-0/{clip_name}"}}
    (run / "cases.json").write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    files = [{"path": f"cases/case-0/{clip_name}", "sha256": clip_name.encode().hex().ljust(64, "0"), "size": 1}]
    (run / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")


def ingested_once(env, camera_id: str, tag: str):
    """A finished job whose run held one case, ingested: (run folder, job id, case id)."""
    run = env.data_dir / "jobs" / tag / "run-1"
    write_run(run, "first.mp4")
    with env.app.state.session_factory() as db:
        up = Upload(path=f"uploads/{tag}.mp4", filename=f"{tag}.mp4", sha256=tag.encode().hex().ljust(64, "0"),
                    size=1, camera_id=camera_id)
        db.add(up)
        db.flush()
        job = Job(upload_id=up.id, state="done", out_dir=f"jobs/{tag}/run-1")
        db.add(job)
        db.flush()
        (case_id,) = [r.id for r in ingest_run(db, job, run, env.data_dir)]
        db.commit()
        return run, job.id, case_id


def test_approval_between_read_and_write_keeps_the_approved_evidence(env, camera):
    factory = env.app.state.session_factory
    run, job_id, case_id = ingested_once(env, camera["camera_id"], "race")
    write_run(run, "rerun.mp4")  # the job's rerun: same case, other evidence
    approved = []
    with factory() as db:
        real_get = db.get

        def get_then_someone_approves(model, ident, *args, **kwargs):
            row = real_get(model, ident, *args, **kwargs)
            if model is Case and ident == case_id and not approved:
                with factory() as other:  # the reviewer's request, committed while ingest holds the row read
                    done = other.execute(update(Case).where(Case.id == case_id, Case.state == "pending")
                                         .values(state="approved", reviewer="rita"))
                    other.commit()
                    approved.append(done.rowcount)
            return row

        db.get = get_then_someone_approves
        ingest_run(db, db.get(Job, job_id), run, env.data_dir)
        db.commit()

    assert approved == [1]
    with factory() as db:
        row = db.get(Case, case_id)
        assert row.state == "approved"
        assert row.evidence == {"clip": "cases/case-0/first.mp4"}
        assert list(row.evidence_hashes) == ["cases/case-0/first.mp4"]


def test_a_pending_case_still_follows_the_rerun(env, camera):
    factory = env.app.state.session_factory
    run, job_id, case_id = ingested_once(env, camera["camera_id"], "rerun")
    write_run(run, "rerun.mp4")
    with factory() as db:
        ingest_run(db, db.get(Job, job_id), run, env.data_dir)
        db.commit()
    with factory() as db:
        row = db.get(Case, case_id)
        assert row.state == "pending"
        assert row.evidence == {"clip": "cases/case-0/rerun.mp4"}
