"""What the drone operator sees of a job (issue 8): the analysis's warnings, what was seen (tracks
per zone, so "nothing found" is told from "nothing looked at"), links to the job's cases, and the
recording time given with the upload winning over the scene's default."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from detector.decode import VideoInfo
from detector.pipeline import AnalyzeOptions, wall_clock_start
from detector.scene import load_scene_text
from detector.types import TrackObservation
from detector.zone_counts import ZoneTrackCounter
from service.job_report import warning_code

from .conftest import upload_clip
from .helpers import LONG_CLIP, SCENE_YAML, SHORT_CLIP, wait_job
from .test_job_faults import _start
from .test_jobs import FakePipeline

TRUNCATED = ("the video ends at 1.2 s but its container says 2.3 s: the file is truncated or damaged; "
             "cases found before that point are kept")
DRONE = ("drone frames could not be registered: 12 of 80 analysis frames do not match the scene's reference "
         "image (too little overlap, blur or another place); they produced no cases")


class ReportingPipeline(FakePipeline):
    """The stand-in pipeline, plus the ``analysis.json`` the real one writes; ``empty`` runs find
    nothing (cases.json empty) but say what they saw."""

    empty = False

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        super().__call__(source, scene_path, out_dir, options, progress, should_cancel)
        if self.empty:
            (out_dir / "cases.json").write_text("[]", encoding="utf-8")
            (out_dir / "manifest.json").write_text(json.dumps({"files": []}), encoding="utf-8")
        analysis = {"video": {"duration_s": 2.3, "frames_decoded": 12}, "warnings": [TRUNCATED, DRONE],
                    "tracks_seen": {"car": 3, "person": 1}, "tracks_per_zone": {"near-lanes": 3, "crossing": 0}}
        (out_dir / "analysis.json").write_text(json.dumps(analysis), encoding="utf-8")


def test_job_api_reports_warnings_what_was_seen_and_its_cases(settings, evidence_template, footage_dir):
    fake = ReportingPipeline(evidence_template)
    main, env = _start(settings, fake)
    try:
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        job = wait_job(env.operator, up["job_id"])
        assert job["state"] == "done" and job["cases_found"] == 2
        # the stand-in's run is unsigned, as an older pipeline's: accepted, and said (service.run_trust)
        assert [w["code"] for w in job["warnings"]] == ["truncated", "drone_unregistered", "unsigned_run"]
        assert job["warnings"][0]["text"] == TRUNCATED
        assert job["warnings"][1]["params"] == {"unregistered": 12, "frames": 80}
        assert job["seen"] == {"frames_decoded": 12, "duration_s": 2.3, "tracks": {"car": 3, "person": 1},
                               "tracks_per_zone": {"near-lanes": 3, "crossing": 0}}
        listed = env.reviewer.get("/api/cases").json()["items"]
        assert sorted(c["id"] for c in job["cases"]) == sorted(c["id"] for c in listed)
        for c in job["cases"]:
            assert c["url"].startswith("/review?case=") and c["state"] == "pending"
            assert env.reviewer.get(f"/api/cases/{c['id']}").status_code == 200
        # the list carries the same report, for the job page's table
        row = next(j for j in env.operator.get("/api/jobs").json() if j["id"] == up["job_id"])
        assert row["warnings"] == job["warnings"] and row["seen"] == job["seen"] and row["cases"] == job["cases"]
        # another operator learns nothing about this job
        assert env.operator2.get(f"/api/jobs/{up['job_id']}").status_code == 404

        fake.empty = True  # nothing found, but something was looked at
        other = upload_clip(env.operator, footage_dir / LONG_CLIP)
        nothing = wait_job(env.operator, other["job_id"])
        assert nothing["state"] == "done" and nothing["cases_found"] == 0 and nothing["cases"] == []
        assert nothing["seen"]["tracks_per_zone"] == {"near-lanes": 3, "crossing": 0}
    finally:
        main.__exit__(None, None, None)


def test_warning_codes_follow_the_pipelines_sentences():
    assert warning_code(TRUNCATED) == "truncated"
    assert warning_code(DRONE) == "drone_unregistered"
    assert warning_code("the video is damaged or truncated: invalid data at 3.1 s") == "damaged"
    assert warning_code("no frame could be decoded") == "no_frames"
    assert warning_code("something new") == "other"


def test_tracks_are_counted_per_zone_by_their_footprint():
    scene = load_scene_text(SCENE_YAML)
    counter = ZoneTrackCounter(scene.zones)
    counter.update([TrackObservation(0.0, 1, "car", (400, 300, 480, 460), 0.9),     # foot in near-lanes + crossing
                    TrackObservation(0.0, 2, "person", (10, 10, 40, 100), 0.8),     # above every zone
                    TrackObservation(0.1, 1, "car", (400, 280, 480, 440), 0.9)])    # same track again
    assert counter.tracks_per_zone() == {"near-lanes": 1, "crossing": 1}
    assert counter.tracks_seen() == {"car": 1, "person": 1}


def test_the_uploads_start_time_wins_over_the_scenes_when_given():
    scene = load_scene_text(SCENE_YAML)  # start_time 2024-05-01T08:00+08:00
    info = VideoInfo(Path("x.mp4"), 960, 540, 25.0, 2.3, 57, "h264", "2023-01-01T00:00:00Z")
    given = datetime(2024, 6, 2, 7, 30, tzinfo=timezone.utc)
    assert wall_clock_start(scene, info, AnalyzeOptions(start_time=given, start_time_overrides_scene=True)) == (given, "upload")
    assert wall_clock_start(scene, info, AnalyzeOptions(start_time=given)) == (scene.start_time, "scene")
    assert wall_clock_start(scene, info, AnalyzeOptions()) == (scene.start_time, "scene")


def test_a_job_carries_the_time_zone_of_the_scene_it_is_analysed_with(env, camera, footage_dir):
    """The jobs page shows a job's times in its scene's zone (it fell back to Asia/Shanghai for
    every camera when the report named none); a camera's zone edited later is the next job's."""
    first = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    r = env.admin.patch("/api/cameras/bj-overpass", json={"timezone": "Europe/London"})
    assert r.status_code == 200, r.text
    second = upload_clip(env.operator, footage_dir / LONG_CLIP)["job_id"]
    assert env.operator.get(f"/api/jobs/{first}").json()["timezone"] == "Asia/Shanghai"
    assert env.operator.get(f"/api/jobs/{second}").json()["timezone"] == "Europe/London"
    listed = {j["id"]: j["timezone"] for j in env.operator.get("/api/jobs").json()}
    assert listed == {first: "Asia/Shanghai", second: "Europe/London"}


def test_warnings_carry_their_numbers_for_the_page():
    """The job page said "some drone frames could not be registered" whether 2 of 104 frames
    failed or 93 of 104 (the wrong camera, a reference from another height); the numbers sat in
    the English sentence only. Each warning now carries them as ``params``."""
    from service.job_report import warning_items

    drone, truncated, clock = warning_items([DRONE, TRUNCATED, "no wall-clock time is known for this video"])
    assert drone == {"code": "drone_unregistered", "text": DRONE, "params": {"unregistered": 12, "frames": 80}}
    assert truncated["params"] == {"end_s": 1.2, "said_s": 2.3}
    assert clock["code"] == "no_clock" and clock["params"] == {}
