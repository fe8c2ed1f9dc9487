"""End to end with the real pipeline: a drone operator uploads real footage in resumable chunks,
the in-process worker analyses it, a reviewer approves a case, the screen shows it."""

from __future__ import annotations

import hashlib
import time

import pytest

from service.main import create_app

from .conftest import start_env
from .helpers import SHORT_CLIP, sha256, wait_job

# Whole frame no-parking with a very short limit: on this clip the real detector and tracker
# find cars that stand still long enough (queueing at the junction), so there is a case to review.
PARKING_SCENE = """\
camera: bj-overpass
place: Beijing overpass
start_time: 2024-05-01T08:00:00+08:00
frame_size: [960, 540]
zones:
  - name: junction
    kind: no_parking
    polygon: [[0, 0], [960, 0], [960, 540], [0, 540]]
    max_stop_s: 0.5
"""


@pytest.mark.integration
def test_upload_analyse_review_display(settings, footage_dir, fast_redaction):
    s = settings.model_copy(update={"runner": "inprocess",
                                    "analyze_options": {"analysis_fps": 5, "pre": 0.5, "post": 0.5}})
    app = create_app(s)
    main, env = start_env(app, s)
    try:
        assert env.admin.post("/api/cameras", data={"scene": PARKING_SCENE}).status_code == 201
        data = (footage_dir / SHORT_CLIP).read_bytes()
        sess = env.operator.post("/api/uploads/sessions", json={
            "camera": "bj-overpass", "filename": "flight-0501.mp4", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "drone_id": "M30-1"}).json()
        half = len(data) // 2
        for offset, chunk in ((0, data[:half]), (half, data[half:])):
            r = env.operator.patch(f"/api/uploads/sessions/{sess['session_id']}", content=chunk,
                                   headers={"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            assert r.status_code == 200, r.text
        done = env.operator.post(f"/api/uploads/sessions/{sess['session_id']}/complete")
        assert done.status_code == 201, done.text

        job = wait_job(env.operator, done.json()["job_id"], timeout=300)
        assert job["state"] == "done", job
        assert job["cases_found"] >= 1, "the real pipeline found no parked car in the overpass clip"
        assert job["video_seconds"] == pytest.approx(2.3, abs=0.1)

        queue = env.reviewer.get("/api/cases", params={"state": "pending"}).json()
        assert queue["total"] == job["cases_found"]
        case = env.reviewer.get(f"/api/cases/{queue['items'][0]['id']}").json()
        assert case["rule"] == "illegal_parking" and case["integrity"]["ok"], case["integrity"]
        assert case["start_time"].startswith("2024-05-01T00:00")  # scene start_time, in UTC
        clip = env.reviewer.get(case["evidence"]["clip"], headers={"Range": "bytes=0-1023"})
        assert clip.status_code == 206 and len(clip.content) == 1024

        # The worker prepares the redacted copies after the job; approval reuses them unchanged.
        prepared = None
        for _ in range(300):
            prepared = env.reviewer.get(f"/api/cases/{case['id']}").json()["published_hashes"]
            if prepared:
                break
            time.sleep(0.2)
        assert prepared and set(prepared) == {"published.mp4", "published.jpg", "published_sheet.jpg"}
        approved = env.reviewer.post(f"/api/cases/{case['id']}/approve")
        assert approved.status_code == 200
        assert env.reviewer.get(f"/api/cases/{case['id']}").json()["published_hashes"] == prepared
        assert env.display.get("/api/public/cases", params={"screen": "lobby"}).json()["items"] == []  # approved only
        assert env.reviewer.post(f"/api/cases/{case['id']}/publish").status_code == 200
        feed = env.display.get("/api/public/cases", params={"screen": "lobby"}).json()["items"]
        assert [c["number"] for c in feed] == [env.reviewer.get(f"/api/cases/{case['id']}").json()["public_number"]]
        video = env.display.get(feed[0]["media"]["video"])
        published = env.reviewer.get(f"/api/cases/{case['id']}").json()["published_hashes"]
        assert sha256(video.content) == published["published.mp4"]
        metrics = env.anon.get("/metrics").text
        speed = [l for l in metrics.splitlines() if l.startswith("civicwatch_processing_speed_ratio ")]
        assert float(speed[0].split()[1]) > 0
    finally:
        main.__exit__(None, None, None)
