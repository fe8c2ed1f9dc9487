"""A split drone job's warnings say the flight's registration losses once, for the whole flight:
the frames of all its segments added up and each period nothing was judged in, one across a
segment boundary told once, in the numbers the jobs page says in its language."""

from __future__ import annotations

import json

from sqlalchemy import update

from detector.register import unregistered_warning
from service.db import session_scope
from service.job_report import warning_items
from service.jobs.segments import finish_parent, split_job
from service.jobs.work import claim
from service.models import Job, JobSegment

from .conftest import upload_clip
from .helpers import SHORT_CLIP


def _segment_report(folder, frames: int, unregistered: int, losses: list[dict]) -> None:
    """``analysis.json`` as a segment's run writes it (``detector.pipeline.analyze``)."""
    folder.mkdir(parents=True)
    registration = {"reference": "scene", "frames": frames + 25, "registered": frames + 25 - unregistered,
                    "unregistered": unregistered, "owned_frames": frames, "owned_unregistered": unregistered,
                    "losses": losses}
    warning = unregistered_warning(unregistered, frames, "scene", losses)
    (folder / "analysis.json").write_text(json.dumps({"registration": registration, "warnings": [warning]}))


def test_a_split_drone_jobs_warning_says_the_flights_registration_losses(env, camera, footage_dir):
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5})
    factory = env.app.state.session_factory
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    assert claim(factory, job_id, settings.job_max_attempts, "w", settings.job_lease_s)
    segs = split_job(factory, settings, job_id, "w")
    assert len(segs) == 2
    # The loss runs from 28 s across the boundary at 30 s to 33 s; segment 2 also lost 50-51 s.
    _segment_report(settings.data_dir / f"jobs/{job_id}/seg-000", 300, 20,
                    [{"from_s": 28.0, "to_s": 33.0, "frames": 20}])
    _segment_report(settings.data_dir / f"jobs/{job_id}/seg-001", 300, 40,
                    [{"from_s": 28.0, "to_s": 33.0, "frames": 30}, {"from_s": 50.0, "to_s": 51.0, "frames": 10}])
    with session_scope(factory) as db:
        for i, seg_id in enumerate(segs):
            db.execute(update(JobSegment).where(JobSegment.id == seg_id)
                       .values(state="done", progress=100.0, out_dir=f"jobs/{job_id}/seg-{i:03d}"))

    assert finish_parent(factory, job_id, settings.data_dir) == "done"
    with session_scope(factory) as db:
        warnings = list(db.get(Job, job_id).warnings)
    said = [w for w in warning_items(warnings) if w["code"] == "drone_unregistered"]
    assert len(said) == 1, warnings  # each segment's own sentence is not repeated beside it
    assert said[0]["params"] == {"unregistered": 60, "frames": 600,
                                 "losses": [{"from_s": 28.0, "to_s": 33.0, "frames": 50},
                                            {"from_s": 50.0, "to_s": 51.0, "frames": 10}]}
    assert "nothing was judged 28.0-33.0 s (50 frames), 50.0-51.0 s (10 frames)" in said[0]["text"]
