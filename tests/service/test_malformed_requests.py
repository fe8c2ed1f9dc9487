"""Malformed requests get a 4xx that says what is wrong, never a 500.

Each request here once reached the database or the file system unchecked and came back as a 500
(found by fuzzing the OpenAPI schema against a live instance on SQLite and PostgreSQL): ids and
offsets beyond the databases' integer range, times that overflow when converted to UTC, a
non-ASCII digit in ``Upload-Offset``, and NUL characters, which PostgreSQL text cannot hold.
Every test runs on both backends (the ``env`` fixture).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .helpers import ORIGIN, SCENE_YAML, SHORT_CLIP

HUGE = 10**20  # past 2**63: overflows SQLite's INTEGER and PostgreSQL's bigint
PAST_INT4 = 2**31  # fits SQLite, but not PostgreSQL's integer primary keys
SHA = "a" * 64


def assert_refused(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


@pytest.mark.parametrize("row_id", [HUGE, PAST_INT4])
def test_ids_out_of_the_database_range_are_refused(env, row_id):
    requests = [
        (env.admin, "GET", f"/api/jobs/{row_id}"),
        (env.admin, "POST", f"/api/jobs/{row_id}/cancel"),
        (env.admin, "POST", f"/api/jobs/{row_id}/retry"),
        (env.operator, "GET", f"/api/jobs/{row_id}"),
        (env.admin, "GET", f"/api/uploads/{row_id}"),
        (env.admin, "DELETE", f"/api/tokens/{row_id}"),
    ]
    for client, method, url in requests:
        r = client.request(method, url)
        body = assert_refused(r, 422, "less than or equal to 2147483647")
        assert body["code"] == "invalid_input", url
    r = env.admin.patch(f"/api/users/{row_id}", json={})
    assert_refused(r, 422, "user_id", "less than or equal to 2147483647")


def test_offsets_out_of_the_database_range_are_refused(env):
    for client, url in ((env.admin, "/api/uploads"), (env.admin, "/api/jobs"), (env.reviewer, "/api/cases"),
                        (env.admin, "/api/audit")):
        r = client.get(url, params={"offset": HUGE})
        assert_refused(r, 422, "offset", "less than or equal to")
    # a large but representable offset is just past the end
    page = env.admin.get("/api/audit", params={"offset": 2**62}).json()
    assert page["items"] == [] and page["total"] > 0


def test_times_that_overflow_in_utc_are_refused(env, camera):
    early, late = "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"
    requests = [
        (env.admin, "/api/audit", {"date_from": early}, "date_from"),
        (env.admin, "/api/audit", {"date_to": late}, "date_to"),
        (env.reviewer, "/api/cases", {"date_from": early}, "date_from"),
        (env.reviewer, "/api/cases", {"date_to": late}, "date_to"),
        (env.display, "/api/public/cases", {"since": late}, "since"),
    ]
    for client, url, params, field in requests:
        assert_refused(client.get(url, params=params), 422, field, "out of range once converted to UTC")
    # representable, but the feed's look back (SINCE_OVERLAP_S) from it is not: everything, not a 500
    r = env.display.get("/api/public/cases", params={"since": "0001-01-01T00:00:30Z"})
    assert r.status_code == 200 and r.json()["withdrawn"] == [], r.text
    r = env.operator.post("/api/uploads/sessions", json={"camera": "bj-overpass", "filename": "a.mp4", "size": 10,
                                                         "sha256": SHA, "started_at": early})
    assert_refused(r, 422, "started_at", "out of range")
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass", "started_at": late},
                          files={"file": ("a.mp4", b"not a video", "video/mp4")})
    assert_refused(r, 422, "started_at", "out of range")
    assert list((env.data_dir / "uploads").rglob("*.*")) == []


def _patch_raw(env, url: str, offset: bytes) -> httpx.Response:
    """One PATCH whose Upload-Offset bytes reach the app unchanged: Starlette's TestClient re-encodes
    header values as UTF-8, while a real server hands the app the latin-1 bytes the client sent."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=dict(env.operator.cookies)) as client:
            return await client.patch(url, content=b"abc", headers={
                "Content-Type": "application/offset+octet-stream", "Upload-Offset": offset, "Origin": ORIGIN})

    return asyncio.run(send())


def test_upload_offset_with_a_non_ascii_digit_is_refused(env, camera):
    r = env.operator.post("/api/uploads/sessions", json={"camera": "bj-overpass", "filename": "a.mp4", "size": 10,
                                                         "sha256": SHA})
    assert r.status_code == 201, r.text
    url = f"/api/uploads/sessions/{r.json()['session_id']}"
    for offset in ("²", "¹0"):  # str.isdigit() is true for both, int() refuses them
        assert_refused(_patch_raw(env, url, offset.encode("latin-1")), 400, "Upload-Offset", "non-negative integer")
    r = _patch_raw(env, url, b"0")
    assert r.status_code == 200 and r.json()["offset"] == 3, r.text


def test_nul_in_the_path_or_query_is_refused(env, camera):
    requests = [
        (env.admin, "GET", "/api/cameras/a%00b", "camera_id"),
        (env.admin, "GET", "/api/cameras/a%00b/reference", "camera_id"),
        (env.admin, "PUT", "/api/cameras/a%00b", "camera_id"),
        (env.reviewer, "GET", "/api/cases/a%00b", "case_id"),
        (env.reviewer, "GET", "/api/cases/a%00b/evidence/clip", "case_id"),
        (env.reviewer, "POST", "/api/cases/a%00b/approve", "case_id"),
        (env.display, "GET", "/api/public/cases/a%00b/media/video", "ref"),
        (env.operator, "GET", "/api/uploads/sessions/a%00b", "session_id"),
        (env.reviewer, "GET", "/api/cases?rule=a%00b", "rule"),
        (env.reviewer, "GET", "/api/cases?camera=a%00b", "camera"),
        (env.admin, "GET", "/api/audit?actor=a%00b", "actor"),
        (env.admin, "GET", "/api/audit?action=a%00b", "action"),
        (env.admin, "GET", "/api/audit/export?object_id=a%00b", "object_id"),
        (env.anon, "GET", "/static/a%00b", "name"),
    ]
    for client, method, url, field in requests:
        r = client.request(method, url)
        assert_refused(r, 422, field, "NUL characters")


def test_nul_in_json_bodies_is_refused(env, camera):
    requests = [
        (env.anon, "/api/auth/login", {"username": "a\x00b", "password": "x"}, "username"),
        (env.admin, "/api/tokens", {"name": "a\x00b", "role": "display"}, "name"),
        (env.operator, "/api/uploads/sessions",
         {"camera": "a\x00b", "filename": "a.mp4", "size": 10, "sha256": SHA}, "camera"),
        (env.operator, "/api/uploads/sessions",
         {"camera": "bj-overpass", "filename": "a.mp4", "size": 10, "sha256": SHA, "drone_id": "x\x00"}, "drone_id"),
        (env.reviewer, "/api/cases/export", {"ids": ["a\x00b"]}, "ids"),
    ]
    for client, url, body, field in requests:
        r = client.post(url, json=body)
        assert_refused(r, 422, field, "NUL characters")
    assert env.admin.get("/api/tokens").json()[-1]["name"] == "lobby screen"  # nothing stored


def test_nul_in_upload_form_fields_is_refused(env, camera):
    for fields, name in (({"camera": "a\x00b"}, "camera"), ({"camera": "bj-overpass", "pilot": "x\x00"}, "pilot")):
        r = env.operator.post("/api/uploads", data=fields, files={"file": ("a.mp4", b"not a video", "video/mp4")})
        assert_refused(r, 422, name, "NUL characters")
    assert env.admin.get("/api/uploads").json() == []


def test_nul_in_a_scene_place_is_refused(env):
    scene = SCENE_YAML.replace("place: 北京 立交桥 (test)", 'place: "a\\0b"')
    assert scene != SCENE_YAML
    r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", scene.encode(), "application/x-yaml")})
    body = assert_refused(r, 422, "place", "NUL characters")
    assert body["code"] == "bad_scene"
    assert env.admin.get("/api/cameras").json() == []


def test_bodies_read_whole_are_capped_before_anyone_is_asked_who_they_are(env, cases, footage_dir, monkeypatch):
    """FastAPI reads (and parses) a JSON body before the route's dependencies: a login, a case
    decision, any write took a body of any size, from anyone, into memory. Over the cap it is 413
    ``too_large`` (declared or counted as it arrives), the anonymous caller's too, nothing
    changed; footage is not capped so (it streams to disk under ``max_upload_bytes``). The caps
    are lowered here to keep the test small; the real ones hold what the routes take."""
    import service.body_limit as body_limit
    from service.api.cameras import MAX_REFERENCE_BYTES, MAX_SCENE_BYTES

    assert body_limit.JSON_BODY_MAX >= 6 * MAX_SCENE_BYTES  # a scene of 1 MiB written with \uXXXX escapes
    assert body_limit.FORM_BODY_MAX > MAX_REFERENCE_BYTES + MAX_SCENE_BYTES
    monkeypatch.setattr(body_limit, "JSON_BODY_MAX", 100_000)
    monkeypatch.setattr(body_limit, "FORM_BODY_MAX", 300_000)
    a, _ = cases
    big = b'{"reason": "' + b"x" * 100_000 + b'"}'
    for client, url in ((env.anon, "/api/auth/login"), (env.anon, "/api/cases/bulk"), (env.reviewer, f"/api/cases/{a}/reject")):
        declared = client.post(url, content=big, headers={"content-type": "application/json"})
        assert_refused(declared, 413, "larger than 100000 bytes")
        assert declared.json()["code"] == "too_large" and declared.headers["x-frame-options"] == "DENY"
        chunked = client.post(url, content=(big[i:i + 8192] for i in range(0, len(big), 8192)),
                              headers={"content-type": "application/json"})
        assert_refused(chunked, 413, "larger than 100000 bytes")
        assert chunked.json()["code"] == "too_large"
    assert env.reviewer.get(f"/api/cases/{a}").json()["state"] == "pending"
    assert env.reviewer.post(f"/api/cases/{a}/reject", json={"reason": "x" * 2000}).status_code == 200  # under the cap
    reference = b"\xff\xd8" + b"\0" * 300_000
    r = env.reviewer.put("/api/cameras/bj-overpass/reference", files={"reference": ("ref.jpg", reference, "image/jpeg")})
    assert_refused(r, 413, "larger than 300000 bytes")
    form = (b'--b\r\nContent-Disposition: form-data; name="reference"; filename="ref.jpg"\r\n\r\n' + reference
            + b"\r\n--b--\r\n")
    r = env.reviewer.put("/api/cameras/bj-overpass/reference", content=(form[i:i + 8192] for i in range(0, len(form), 8192)),
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert_refused(r, 413, "larger than 300000 bytes")
    assert env.operator.get("/api/cameras/bj-overpass").json()["scene_version"] == 1
    # the footage routes stream: a body past both caps is theirs to judge (a duplicate here)
    clip = (footage_dir / SHORT_CLIP).read_bytes()
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("a.mp4", clip, "video/mp4")})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_upload", r.text
