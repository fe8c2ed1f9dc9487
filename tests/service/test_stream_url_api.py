"""A camera's stream URL over the API: malformed URLs are a 422 naming the field (never a 500),
the URL stored before stays, and the password never comes back, also for a URL urlsplit cannot
parse."""

from __future__ import annotations

import pytest

from service.live import segments as live

MALFORMED = [
    "rtsp://[::1",  # urlsplit: Invalid IPv6 URL
    "rtsp://op:pw@cam:99999/main",  # port out of range
    "rtsp://op:pw@cam:abc/main",  # port not a number
    "rtsp://cam:abc/main",
    "rtsp://op:pw@[zz]/main",  # not an IP address in brackets
    "rtsp://cam/ma\x00in",  # PostgreSQL cannot store a NUL
    "rtsp://cam/main\x7f",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_stream_url_is_422_and_the_stored_one_stays(env, camera, url):
    cam = camera["camera_id"]
    assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://op:s3cret@10.0.0.7/main"}).status_code == 200
    r = env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": url})
    assert r.status_code == 422, r.text
    assert "stream_url" in str(r.json()["errors"][0])  # the field is named
    assert env.admin.get(f"/api/cameras/{cam}").json()["stream_url"] == "rtsp://op:***@10.0.0.7/main"


def test_an_ipv6_camera_keeps_its_brackets_and_loses_its_password(env, camera):
    cam = camera["camera_id"]
    r = env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://op:s3cret@[fe80::7]:554/main"})
    assert r.status_code == 200, r.text
    assert r.json()["stream_url"] == "rtsp://op:***@[fe80::7]:554/main"
    assert "s3cret" not in env.reviewer.get("/api/cameras").text


def test_the_health_answer_never_shows_a_recorder_error_with_the_password(env, camera):
    """A recorder of an older version (or any caller) that stored an error naming the URL."""
    cam = camera["camera_id"]
    env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://op:s3cret@10.0.0.7/main"})
    live.heartbeat(env.app.state.session_factory, cam, False, None,
                   "ConnectionRefusedError: [Errno 111] Connection refused: 'rtsp://op:s3cret@10.0.0.7/main'", "h")
    health = {h["camera_id"]: h for h in env.operator.get("/api/live/health").json()}[cam]
    assert "s3cret" not in health["last_error"] and "op:***@10.0.0.7" in health["last_error"]
