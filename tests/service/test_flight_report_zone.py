"""A job's flight report gives its "made" time in the zone of the scene the job was judged by, the
zone its case times are in, not the zone the camera was moved to afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

pytestmark = pytest.mark.usefixtures("fast_redaction")


def test_made_in_the_judged_scenes_zone(env, cases) -> None:
    for cid in cases:
        assert env.reviewer.post(f"/api/cases/{cid}/approve", json={}).status_code == 200
    # the camera is moved to Rome's zone after the job was analysed in Shanghai's
    moved = env.reviewer.patch("/api/cameras/bj-overpass", json={"timezone": "Europe/Rome"})
    assert moved.status_code == 200, moved.text
    job = env.reviewer.get(f"/api/cases/{cases[0]}").json()["job_id"]
    made = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={})
    assert made.status_code == 200, made.text
    assert datetime.fromisoformat(made.json()["made_at"]).utcoffset() == timedelta(hours=8)
    html = env.reviewer.get(made.json()["html_url"]).text
    assert "(UTC+08:00)" in html and "(UTC+01:00)" not in html and "(UTC+02:00)" not in html
