"""Misuse the service the way the security review did: cross-site writes, password guessing, weak
passwords, framing, formula injection, path tricks in camera ids and symlinks, hostile scenes.
Every test runs on SQLite and PostgreSQL (the ``env`` fixture)."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.models import AuditEntry, Case
from service.web import i18n

from .conftest import start_env
from .helpers import ORIGIN, PASSWORD, SCENE_YAML, login

EVIL = "https://evil.example"


def scene(camera: str = "cam-x", place: str = "somewhere", polygon: str = "[[0, 0], [100, 0], [100, 100]]",
          zone: str = "box") -> str:
    return (f"camera: {camera!r}\nplace: {place!r}\nframe_size: [960, 540]\nzones:\n"
            f"  - name: {zone!r}\n    kind: no_parking\n    polygon: {polygon}\n")


def post_scene(client: TestClient, text: str, **kw):
    return client.post("/api/cameras", files={"scene": ("scene.yaml", text.encode(), "application/x-yaml")}, **kw)


def translated_in_both(code: str) -> None:
    for lang in i18n.LANGUAGES:
        assert f"error.{code}" in i18n.catalogue(lang), (lang, code)


# ---- 5. cross-site requests ---------------------------------------------------------------

def test_cookie_writes_with_a_foreign_origin_are_refused(env, cases):
    cid = cases[0]
    r = env.reviewer.post(f"/api/cases/{cid}/approve", headers={"Origin": EVIL})
    assert r.status_code == 403 and r.json()["code"] == "cross_site_request"
    # the classic attack: an HTML form POST (urlencoded) from another site
    form = env.admin.post("/api/cameras", data={"scene": scene("evil-cam")}, headers={"Origin": EVIL})
    assert form.status_code == 403 and form.json()["code"] == "cross_site_request"
    assert env.admin.get("/api/cameras/evil-cam").status_code == 404
    assert env.reviewer.post(f"/api/cases/{cid}/approve", headers={"Origin": "null"}).status_code == 403
    assert env.reviewer.post(f"/api/cases/{cid}/approve", headers={"Origin": "http://testserver.evil.example"}).status_code == 403
    assert env.reviewer.get(f"/api/cases/{cid}").json()["state"] == "pending"
    translated_in_both("cross_site_request")


def test_cookie_writes_need_origin_or_a_same_origin_referer(env, camera):
    bare = TestClient(env.app, cookies=env.admin.cookies)  # no Origin header at all
    r = bare.post("/api/tokens", json={"name": "t", "role": "operator"})
    assert r.status_code == 403 and r.json()["code"] == "cross_site_request"
    assert bare.post("/api/tokens", json={"name": "t", "role": "operator"},
                     headers={"Referer": f"{EVIL}/x"}).status_code == 403
    ok = bare.post("/api/tokens", json={"name": "t", "role": "operator"}, headers={"Referer": f"{ORIGIN}/admin"})
    assert ok.status_code == 201
    assert bare.get("/api/tokens").status_code == 200  # reads are not state-changing
    assert env.admin.delete("/api/tokens/999999", headers={"Origin": EVIL}).status_code == 403


def test_bearer_tokens_are_exempt_and_login_is_checked(env):
    tok = env.admin.post("/api/tokens", json={"name": "drone", "role": "operator"}).json()["token"]
    drone = TestClient(env.app, headers={"Authorization": f"Bearer {tok}", "Origin": EVIL})
    assert drone.post("/api/jobs/999999/cancel").status_code == 404  # reached the route
    # login CSRF (signing the victim in as the attacker) is refused; scripts without Origin may log in
    assert env.anon.post("/api/auth/login", json={"username": "rita", "password": PASSWORD},
                         headers={"Origin": EVIL}).status_code == 403
    assert TestClient(env.app).post("/api/auth/login", json={"username": "rita", "password": PASSWORD}).status_code == 200


def test_configured_origins_are_accepted(settings):
    from service.main import create_app

    settings = settings.model_copy(update={"allowed_origins": ["https://review.example.org"]})
    main, env = start_env(create_app(settings), settings)
    try:
        r = env.admin.post("/api/tokens", json={"name": "t", "role": "operator"},
                           headers={"Origin": "https://review.example.org:443"})
        assert r.status_code == 201
        assert env.admin.post("/api/tokens", json={"name": "t", "role": "operator"},
                              headers={"Origin": "https://other.example.org"}).status_code == 403
    finally:
        main.__exit__(None, None, None)


# ---- 6. login rate limiting ---------------------------------------------------------------

def _login(env, username: str, password: str, ip: str):
    return env.anon.post("/api/auth/login", json={"username": username, "password": password},
                         headers={"X-Forwarded-For": ip})


def test_failed_logins_per_user_name_lock_it_for_a_while(env):
    env.settings.trust_forwarded_for = True  # each attempt from its own address: only the name counts
    for i in range(5):
        assert _login(env, "rita", "wrong-password", f"10.0.0.{i}").status_code == 401
    locked = _login(env, "rita", PASSWORD, "10.0.1.1")  # even the right password waits
    assert locked.status_code == 429 and locked.json()["code"] == "login_throttled"
    wait = int(locked.headers["Retry-After"])
    assert 0 < wait <= env.settings.login_window_s
    assert _login(env, "otto", PASSWORD, "10.0.1.2").status_code == 200  # other names are not affected
    # an unknown name gets exactly the same answers: no user enumeration
    for i in range(5):
        assert _login(env, "ghost", "wrong-password", f"10.0.2.{i}").status_code == 401
    ghost = _login(env, "ghost", "wrong-password", "10.0.3.1")
    assert ghost.status_code == 429 and ghost.json()["code"] == locked.json()["code"]
    assert "Retry-After" in ghost.headers and set(ghost.json()) == set(locked.json())
    # once the failures are older than the window, the right password works again
    with env.app.state.session_factory() as db:
        for entry in db.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed")):
            entry.at -= timedelta(seconds=env.settings.login_window_s + 1)
        db.commit()
    assert _login(env, "rita", PASSWORD, "10.0.1.1").status_code == 200
    throttled = env.admin.get("/api/audit", params={"action": "login.throttled"}).json()["items"]
    assert {e["actor"] for e in throttled} == {"rita", "ghost"} and all(e["details"]["retry_after_s"] for e in throttled)
    translated_in_both("login_throttled")


def test_failed_logins_per_address_and_reset_on_success(env):
    env.settings.trust_forwarded_for = True
    for name in ("a1", "a2", "a3", "a4", "a5"):  # one address guessing many names
        assert _login(env, name, "wrong-password", "10.9.9.9").status_code == 401
    assert _login(env, "otto", PASSWORD, "10.9.9.9").status_code == 429
    assert _login(env, "otto", PASSWORD, "10.9.9.8").status_code == 200
    # a successful login restarts the count for that name (not for the address)
    for i in range(4):
        assert _login(env, "olga", "wrong-password", f"10.8.0.{i}").status_code == 401
    assert _login(env, "olga", PASSWORD, "10.8.1.0").status_code == 200
    for i in range(4):
        assert _login(env, "olga", "wrong-password", f"10.8.2.{i}").status_code == 401
    assert _login(env, "olga", PASSWORD, "10.8.1.0").status_code == 200


# ---- 7. password policy -------------------------------------------------------------------

@pytest.mark.parametrize("password, code", [
    ("12345678", "password_too_short"), ("password", "password_too_short"), ("1234567890", "password_common"),
    ("password123", "password_common"), ("Qwertyuiop", "password_common"), ("zzzzzzzzzzzz", "password_one_character"),
    ("marta", "password_too_short"), ("marta-is-great", "password_contains_username"),
    (" spaced-out-pass", "password_spaces"), ("spaced-out-pass ", "password_spaces"),
])
def test_weak_passwords_are_refused_with_a_reason(env, password, code):
    r = env.admin.post("/api/users", json={"username": "marta", "password": password, "role": "reviewer"})
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert "password" in r.json()["detail"]
    translated_in_both(code)


def test_policy_applies_to_password_changes_and_good_ones_pass(env):
    r = env.admin.post("/api/users", json={"username": "marta", "password": "two quiet rivers", "role": "reviewer"})
    assert r.status_code == 201
    uid = r.json()["id"]
    bad = env.admin.patch(f"/api/users/{uid}", json={"password": "Marta12345"})
    assert bad.status_code == 422 and bad.json()["code"] == "password_contains_username"
    assert env.admin.patch(f"/api/users/{uid}", json={"password": "another long phrase"}).status_code == 200


def test_users_cli_applies_the_policy_in_both_languages(tmp_path, monkeypatch, database_url, capsys):
    from civicwatch.cli import main

    monkeypatch.setenv("CIVICWATCH_DATA_DIR", str(tmp_path / "cli"))
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("password123\n"))
    assert main(["users", "add", "chief", "--role", "admin", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert "most commonly used" in err and i18n.catalogue("zh-CN")["error.password_common"] in err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough phrase\n"))
    assert main(["users", "add", "chief", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("chief-of-station\n"))
    assert main(["users", "passwd", "chief", "--password-stdin"]) == 2
    assert i18n.catalogue("zh-CN")["error.password_contains_username"] in capsys.readouterr().err


def test_a_password_reset_from_the_cli_ends_the_users_sessions(env, monkeypatch):
    """``civicwatch users passwd`` is how an administrator on the server resets a password that
    got out. It set the new one but left every session signed in with the old one working (up to
    ``session_ttl_s``, 12 h), so whoever had used the leaked password stayed in; the API's
    PATCH /api/users ended them. Now the CLI does too."""
    from civicwatch.cli import main

    monkeypatch.setenv("CIVICWATCH_DATA_DIR", str(env.data_dir))
    if env.settings.database_url:
        monkeypatch.setenv("DATABASE_URL", env.settings.database_url)
    assert env.reviewer.get("/api/me").status_code == 200  # someone signed in as rita
    monkeypatch.setattr("sys.stdin", io.StringIO("a fresh station phrase\n"))
    assert main(["users", "passwd", "rita", "--password-stdin"]) == 0
    assert env.reviewer.get("/api/me").status_code == 401
    assert env.operator.get("/api/me").status_code == 200  # other people stay signed in
    assert login(env.app, "rita", "a fresh station phrase").get("/api/me").json()["username"] == "rita"


# ---- 8. security headers ------------------------------------------------------------------

def test_every_response_carries_the_security_headers(env):
    for r in (env.anon.get("/login"), env.anon.get("/"), env.anon.get("/api/me"), env.anon.get("/healthz"),
              env.reviewer.get("/review"), env.anon.get("/static/js/common.js"),
              env.anon.get("/no-such-page"), env.admin.post("/api/tokens", json={}),
              env.reviewer.post("/api/tokens", json={}, headers={"Origin": EVIL})):
        h = r.headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and h["x-frame-options"] == "DENY", r.url
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
        assert "camera=()" in h["permissions-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert script_src.strip() == "'self'", csp  # no inline script, no other host


def test_a_500_carries_the_security_headers_too(env, monkeypatch):
    """An unexpected failure (a bug) is answered by Starlette's outermost error layer, outside the
    middleware that adds the headers: the 500 went out with none of them (no CSP, nosniff,
    framing refusal, and no no-store, so a proxy could keep it). The bug here is a sign-in check
    that raises; the answer must still say nothing of it but its type."""
    import service.security as security

    def broken(request, db):  # noqa: ANN001
        raise RuntimeError("lookup failed under /srv/civicwatch/secret_key")

    monkeypatch.setattr(security, "principal_from_request", broken)
    client = TestClient(env.app, raise_server_exceptions=False, headers={"Origin": ORIGIN})
    for r in (client.get("/api/me"), client.post("/api/tokens", json={})):
        assert r.status_code == 500, (r.url, r.status_code, r.text)
        assert r.json() == {"detail": "internal server error (RuntimeError)", "code": "internal_error"}
        h = r.headers
        assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), (r.url, dict(h))
        assert h.get("x-content-type-options") == "nosniff" and h.get("x-frame-options") == "DENY"
        assert h.get("cache-control") == "no-store"


def test_api_answers_are_not_kept_by_caches(env, cases):
    """A screen's feed or a case a reviewer has just withdrawn must not be served again from a
    proxy's cache: every API answer says no-store unless its route set its own policy."""
    screen = {"Authorization": f"Bearer {env.display_token}"}
    for r in (env.reviewer.get("/api/cases"), env.reviewer.get(f"/api/cases/{cases[0]}"), env.anon.get("/api/me"),
              env.anon.get("/api/public/cases", headers=screen), env.admin.post("/api/tokens", json={})):
        assert r.headers["cache-control"] == "no-store", (r.url, r.status_code, r.headers.get("cache-control"))
    thumb = env.reviewer.get(f"/api/cases/{cases[0]}/evidence/snapshot?w=160")
    assert thumb.status_code == 200 and thumb.headers["cache-control"] == "private, max-age=600"  # its own policy


PAGES = ["/", "/login", "/upload", "/jobs", "/review", "/cameras", "/cameras/cam-1", "/admin", "/display/lobby"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script(env, path):
    html = env.anon.get(path).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
    assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline event handlers either


# ---- 10. audit CSV formula injection -------------------------------------------------------

def test_audit_csv_escapes_formulas(env):
    names = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)"]
    for name in names:
        assert env.anon.post("/api/auth/login", json={"username": name, "password": "x"}).status_code == 401
    body = env.admin.get("/api/audit/export").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header = rows[0]
    actors = [row[header.index("actor")] for row in rows[1:]]
    for name in names:
        assert "'" + name in actors, (name, actors)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# ---- 11. camera ids -----------------------------------------------------------------------

@pytest.mark.parametrize("camera_id", [".", "..", ".hidden", "a/b", "x" * 300])
def test_unsafe_camera_ids_are_refused(env, camera_id):
    r = post_scene(env.admin, scene(camera_id), data={})
    assert r.status_code == 422 and r.json()["code"] == "bad_scene", r.text
    assert "camera" in r.json()["detail"]
    assert not list(env.data_dir.glob("reference.*")) and not list(env.settings.cameras_dir.glob("*"))


def test_unsafe_camera_ids_in_urls_are_refused(env, camera):
    for path in ("/api/cameras/%2E%2E", "/api/cameras/%2E", "/api/cameras/%2E%2E/reference"):
        r = env.admin.get(path)
        assert r.status_code == 422 and "camera_id" in r.json()["detail"], (path, r.text)
    r = env.admin.put("/api/cameras/%2E%2E", files={"scene": ("s.yaml", SCENE_YAML.encode(), "application/x-yaml")})
    assert r.status_code == 422


# ---- 14. symlinks out of the data folder ---------------------------------------------------

def test_evidence_never_follows_symlinks(env, cases, tmp_path):
    secret = tmp_path / "outside" / "secret.mp4"
    secret.parent.mkdir()
    secret.write_bytes(b"SECRET-OUTSIDE-THE-DATA-FOLDER")
    cid = cases[0]
    with env.app.state.session_factory() as db:
        case = db.get(Case, cid)
        out_dir, evidence_dir, clip_rel, snap_rel = case.out_dir, case.evidence_dir, case.evidence["clip"], case.evidence["snapshot"]
    clip = env.data_dir / out_dir / clip_rel
    assert env.reviewer.get(f"/api/cases/{cid}/evidence/clip").status_code == 200
    clip.unlink()
    os.symlink(secret, clip)  # a file planted in the case folder, pointing out
    r = env.reviewer.get(f"/api/cases/{cid}/evidence/clip")
    assert r.status_code == 404 and b"SECRET" not in r.content
    # a symlink to a file inside the data folder is refused too (it is not the file that was recorded)
    clip.unlink()
    os.symlink(env.data_dir / out_dir / snap_rel, clip)
    assert env.reviewer.get(f"/api/cases/{cid}/evidence/clip").status_code == 404
    # the whole case folder swapped for a link to a copy elsewhere
    case_dir = env.data_dir / evidence_dir
    copy = tmp_path / "outside" / "case"
    case_dir.rename(copy)
    os.symlink(copy, case_dir)
    r = env.reviewer.get(f"/api/cases/{cid}/evidence/snapshot")
    assert r.status_code == 404
    export = env.reviewer.post("/api/cases/export", json={"ids": [cid]})
    assert export.status_code == 200 and b"SECRET" not in export.content


# ---- 15. hostile scenes -------------------------------------------------------------------

@pytest.mark.parametrize("text, field", [
    (scene(polygon="[[0, 0], [.nan, 0], [100, 100]]"), "zones[0].polygon[1][0]"),
    (scene(polygon="[[0, 0], [100, .inf], [100, 100]]"), "zones[0].polygon[1][1]"),
    (scene(place="长" * 1000), "place"),
    (scene(zone="z" * 200), "zones[0].name"),
    (scene(camera="c" * 300), "camera"),
    (scene() + "timezone: " + "A" * 500 + "\n", "timezone"),
])
def test_hostile_scenes_get_a_field_error_not_a_500(env, text, field):
    r = post_scene(env.admin, text)
    assert r.status_code == 422 and r.json()["code"] == "bad_scene", r.text
    assert field in r.json()["detail"]
    assert env.admin.get("/api/cameras").json() == []


def test_longest_allowed_names_are_stored(env):
    r = post_scene(env.admin, scene(camera="c" * 64, place="长" * 255, zone="z" * 64))
    assert r.status_code == 201, r.text
    assert env.admin.get("/api/cameras/" + "c" * 64).json()["place"] == "长" * 255


def test_published_media_never_follow_symlinks(env, cases, fast_redaction, tmp_path):
    cid = cases[0]
    assert env.reviewer.post(f"/api/cases/{cid}/approve").status_code == 200
    assert env.reviewer.post(f"/api/cases/{cid}/publish").status_code == 200
    item = env.display.get("/api/public/cases").json()["items"][0]
    assert env.display.get(item["media"]["video"]).status_code == 200
    with env.app.state.session_factory() as db:
        published = env.data_dir / db.get(Case, cid).published_dir / "published.mp4"
    outside = tmp_path / "published-copy.mp4"
    outside.write_bytes(published.read_bytes())  # the same bytes: only the link itself gives it away
    published.unlink()
    os.symlink(outside, published)
    assert env.display.get(item["media"]["video"]).status_code == 404
