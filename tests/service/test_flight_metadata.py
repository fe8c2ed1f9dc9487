"""Flight metadata through the service with the real pipeline: an operator uploads real footage
whose file says when and where it was shot (``tagged_flight``), with a drone id and a pilot; the
cases carry the file's clock, the drone id and pilot, and the GPS location in their evidence
record (case.json, the signed manifest, the reviewer's case view), and nothing public carries
any of it: not the published clip (read back with PyAV), the screen feed or the publish preview."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from detector.media.metadata import identifying_tags
from detector.signing import check_signature
from service.main import create_app

from .conftest import start_env, upload_clip
from .helpers import wait_job

# A fixed camera whose scene gives no start_time: the file's creation_time is the clock. Whole
# frame no-parking with a short limit: the real detector finds cars queueing at the junction.
SCENE = """\
camera: bj-overpass-air
place: Beijing overpass
timezone: Asia/Shanghai
frame_size: [960, 540]
zones:
  - name: junction
    kind: no_parking
    polygon: [[0, 0], [960, 0], [960, 540], [0, 540]]
    max_stop_s: 0.5
"""
FLIGHT_START = datetime(2024, 5, 1, 1, 30, tzinfo=UTC)  # FLIGHT_TAGS' creation_time
DRONE, PILOT = "DJI-M30-07", "王伟"
# What must never reach the public: the position (as numbers and as the tag's text), the device,
# the drone id, the pilot and the evidence record's keys.
PRIVATE = ("22.5431", "114.0579", "+22.5431", "Mavic", "DJI", DRONE, PILOT, "source_metadata", "flight", "pilot")


def _public_free_of_flight(payload: dict) -> None:
    text = json.dumps(payload, ensure_ascii=False)
    leaked = [word for word in PRIVATE if word in text]
    assert not leaked, f"the public record carries {leaked}: {text}"


@pytest.mark.integration
def test_flight_metadata_is_evidence_and_never_published(settings, tagged_flight, fast_redaction, tmp_path):
    s = settings.model_copy(update={"runner": "inprocess",
                                    "analyze_options": {"analysis_fps": 5, "pre": 0.5, "post": 0.5}})
    app = create_app(s)
    main, env = start_env(app, s)
    try:
        assert env.admin.post("/api/cameras", data={"scene": SCENE}).status_code == 201
        up = upload_clip(env.operator, tagged_flight, camera_id="bj-overpass-air", drone_id=DRONE, pilot=PILOT)
        assert (up["drone_id"], up["pilot"], up["started_at"]) == (DRONE, PILOT, None)
        job = wait_job(env.operator, up["job_id"], timeout=300)
        assert job["state"] == "done" and job["cases_found"] >= 1, job
        assert (job["drone_id"], job["pilot"]) == (DRONE, PILOT)
        assert not any(w["code"] == "no_clock" for w in job["warnings"])

        # ---- the reviewer's case view: the file's clock, who flew it, where ---------------------
        queue = env.reviewer.get("/api/cases", params={"state": "pending"}).json()
        case = env.reviewer.get(f"/api/cases/{queue['items'][0]['id']}").json()
        assert case["clock"]["source"] == "container"
        started = datetime.fromisoformat(case["start_time"])
        assert abs(started - (FLIGHT_START + timedelta(seconds=case["start_s"]))) < timedelta(milliseconds=2)
        assert case["flight"] == {"drone_id": DRONE, "pilot": PILOT}
        meta = case["source_metadata"]
        assert (meta["location"]["lat"], meta["location"]["lon"], meta["location"]["alt_m"]) == (22.5431, 114.0579, 85.0)
        assert (meta["make"], meta["model"], meta["creation_time"]) == ("DJI", "Mavic 3", "2024-05-01T01:30:00+00:00")
        assert case["integrity"]["ok"], case["integrity"]

        # ---- the evidence record on disk: case.json and the signed manifest ---------------------
        from service.db import session_scope
        from service.models import Case

        with session_scope(app.state.session_factory) as db:
            row = db.get(Case, case["id"])
            run_dir, case_dir = env.data_dir / row.out_dir, env.data_dir / row.evidence_dir
        record = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
        assert record["flight"] == case["flight"] and record["source_metadata"] == meta
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["inputs"]["source"]["metadata"]["location"]["lat"] == 22.5431
        assert check_signature(run_dir, app.state.signing_key.public_key()).ok

        # ---- publish; nothing public says where, when or with what ------------------------------
        prepared = None
        for _ in range(300):
            prepared = env.reviewer.get(f"/api/cases/{case['id']}").json()["published_hashes"]
            if prepared:
                break
            time.sleep(0.2)
        assert prepared and "published.mp4" in prepared
        assert env.reviewer.post(f"/api/cases/{case['id']}/approve").status_code == 200
        preview = env.reviewer.get(f"/api/public/preview/{case['id']}")
        assert preview.status_code == 200, preview.text
        _public_free_of_flight(preview.json()["record"])
        assert env.reviewer.post(f"/api/cases/{case['id']}/publish").status_code == 200
        feed = env.display.get("/api/public/cases", params={"screen": "lobby"})
        assert len(feed.json()["items"]) == 1
        _public_free_of_flight(feed.json())

        video = env.display.get(feed.json()["items"][0]["media"]["video"])
        assert video.status_code == 200
        published = tmp_path / "published.mp4"
        published.write_bytes(video.content)
        assert identifying_tags(published) == []  # PyAV: container and stream tags
        assert b"22.5431" not in video.content and b"Mavic" not in video.content
    finally:
        main.__exit__(None, None, None)
