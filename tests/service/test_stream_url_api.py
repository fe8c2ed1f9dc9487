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


def test_query_credentials_are_masked_on_every_answer_and_stored_as_given(env, camera):
    """Cameras that take their credentials in the query (``?user=admin&password=...``, ``&token=``)."""
    from service.models import Camera

    cam = camera["camera_id"]
    url = "rtsp://10.0.0.7:554/live?user=admin&Password=s3cret&channel=1&token=t0ken"
    r = env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": url})
    assert r.status_code == 200, r.text
    assert r.json()["stream_url"] == "rtsp://10.0.0.7:554/live?user=admin&Password=***&channel=1&token=***"
    listing = env.reviewer.get("/api/cameras").text
    assert "s3cret" not in listing and "t0ken" not in listing
    with env.app.state.session_factory() as db:
        assert db.get(Camera, cam).stream_url == url  # the recorder connects with the URL as given
    live.heartbeat(env.app.state.session_factory, cam, False, None, f"OSError: Connection refused: '{url}'", "h")
    health = {h["camera_id"]: h for h in env.operator.get("/api/live/health").json()}[cam]
    assert "s3cret" not in health["last_error"] and "t0ken" not in health["last_error"]
    assert "Password=***" in health["last_error"]


@pytest.mark.parametrize("stored", ["rtsp://op:s3cret@cam:99999/main", "ftp://op:s3cret@cam/main", "rtsp://cam/ma in"])
def test_record_refuses_a_stored_stream_url_that_is_not_one(env, camera, stored):
    """A URL stored before the API checked it: ``civicwatch record --camera`` names it and exits 2
    at once, with the same check as the API, instead of a recorder retrying it for ever."""
    import os
    import subprocess
    import sys

    from service.db import session_scope
    from service.models import Camera

    cam = camera["camera_id"]
    with session_scope(env.app.state.session_factory) as db:
        db.get(Camera, cam).stream_url = stored  # around the API, as an older version could
    environ = {**os.environ, "CIVICWATCH_DATA_DIR": str(env.data_dir)}
    environ.pop("DATABASE_URL", None)
    if env.settings.database_url:
        environ["DATABASE_URL"] = env.settings.database_url
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "record", "--camera", cam],
                         capture_output=True, text=True, timeout=60, env=environ)
    assert run.returncode == 2, (run.stdout, run.stderr[-2000:])
    assert f"civicwatch record: camera {cam!r}" in run.stderr and "not a stream URL" in run.stderr, run.stderr[-2000:]
    assert run.stdout == ""  # stdout carries the segments' JSON lines only
    assert "s3cret" not in run.stdout + run.stderr and "Traceback" not in run.stderr
