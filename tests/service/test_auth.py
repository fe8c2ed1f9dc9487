"""Who may do what: the refusals the issue lists, login/logout, tokens, user management."""

from __future__ import annotations

import pytest

from .conftest import start_env
from .helpers import PASSWORD, bearer, login

ANON_ENDPOINTS = [
    ("get", "/api/me"), ("get", "/api/users"), ("get", "/api/tokens"), ("get", "/api/cameras"),
    ("get", "/api/uploads"), ("post", "/api/uploads/sessions"), ("get", "/api/jobs"), ("get", "/api/cases"),
    ("get", "/api/cases/x/evidence/clip"), ("post", "/api/cases/x/approve"), ("get", "/api/public/cases"),
    ("get", "/api/public/cases/x/media/video"), ("get", "/api/audit"), ("get", "/api/audit/export"),
]


def test_anonymous_requests_get_401(env):
    for method, path in ANON_ENDPOINTS:
        r = getattr(env.anon, method)(path)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert "detail" in r.json() and r.json()["code"] == "login_required"


def test_login_me_logout(env):
    me = env.reviewer.get("/api/me").json()
    assert (me["username"], me["role"]) == ("rita", "reviewer")
    cookie = env.reviewer.cookies.get("cw_session")
    assert cookie
    assert env.reviewer.post("/api/auth/logout").status_code == 200
    env.reviewer.cookies.set("cw_session", cookie)  # a replayed cookie after logout is dead
    assert env.reviewer.get("/api/me").status_code == 401


def test_login_cookie_flags_and_wrong_password(env):
    r = env.anon.post("/api/auth/login", json={"username": "rita", "password": PASSWORD})
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "cw_session=" in header
    bad = env.anon.post("/api/auth/login", json={"username": "rita", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_credentials"
    nobody = env.anon.post("/api/auth/login", json={"username": "nobody", "password": "wrong-password"})
    assert nobody.status_code == 401
    log = env.admin.get("/api/audit", params={"action": "login*"}).json()["items"]
    actions = [(e["actor"], e["action"]) for e in log]
    assert ("rita", "login") in actions and ("rita", "login.failed") in actions and ("nobody", "login.failed") in actions
    assert all(e["ip"] for e in log)


def test_reviewer_cannot_manage_users_or_tokens(env):
    assert env.reviewer.get("/api/users").status_code == 403
    assert env.reviewer.post("/api/users", json={"username": "x", "password": PASSWORD, "role": "admin"}).status_code == 403
    assert env.reviewer.patch("/api/users/1", json={"role": "reviewer"}).status_code == 403
    assert env.reviewer.post("/api/tokens", json={"name": "t", "role": "operator"}).status_code == 403
    assert env.operator.get("/api/users").status_code == 403
    assert env.display.get("/api/users").status_code == 403


def test_operator_cannot_approve_or_review(env, cases):
    cid = cases[0]
    assert env.operator.post(f"/api/cases/{cid}/approve").status_code == 403
    assert env.operator.post(f"/api/cases/{cid}/reject", json={"reason": "no"}).status_code == 403
    assert env.operator.get("/api/cases").status_code == 403
    assert env.operator.get(f"/api/cases/{cid}/evidence/clip").status_code == 403
    assert env.reviewer.get(f"/api/cases/{cid}").json()["state"] == "pending"


def test_display_token_sees_no_pending_cases_nor_originals(env, cases):
    cid = cases[0]
    for path in ("/api/cases", f"/api/cases/{cid}", f"/api/cases/{cid}/evidence/clip",
                 f"/api/cases/{cid}/evidence/annotated", f"/api/cases/{cid}/evidence/snapshot"):
        assert env.display.get(path).status_code == 403, path
    assert env.display.post("/api/cases/export", json={"ids": [cid]}).status_code == 403
    assert env.display.get("/api/public/cases").json()["items"] == []  # all pending
    assert env.display.get(f"/api/public/cases/{cid}/media/video").status_code == 404
    assert env.display.get("/api/uploads").status_code == 403


def test_display_token_bound_to_its_screen(env):
    assert env.display.get("/api/public/cases", params={"screen": "lobby"}).status_code == 200
    assert env.display.get("/api/public/cases", params={"screen": "other"}).status_code == 403


def test_token_revocation_and_listing(env):
    r = env.admin.post("/api/tokens", json={"name": "drone 7", "role": "operator"})
    assert r.status_code == 201
    token = r.json()["token"]
    drone = bearer(env.app, token)
    assert drone.get("/api/me").json()["role"] == "operator"
    listed = env.admin.get("/api/tokens").json()
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert env.admin.delete(f"/api/tokens/{r.json()['id']}").status_code == 200
    assert drone.get("/api/me").status_code == 401
    assert bearer(env.app, "cwt_made-up").get("/api/me").status_code == 401
    assert env.admin.post("/api/tokens", json={"name": "x", "role": "admin"}).status_code == 422


def test_user_management(env):
    users = {u["username"]: u for u in env.admin.get("/api/users").json()}
    assert set(users) == {"admin", "rita", "otto", "olga"}
    dup = env.admin.post("/api/users", json={"username": "rita", "password": PASSWORD, "role": "reviewer"})
    assert dup.status_code == 409 and dup.json()["code"] == "user_exists"
    short = env.admin.post("/api/users", json={"username": "z", "password": "short", "role": "reviewer"})
    assert short.status_code == 422 and "password" in short.json()["detail"]
    # deactivating a user ends their session at once
    r = env.admin.patch(f"/api/users/{users['otto']['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert env.operator.get("/api/me").status_code == 401
    assert env.anon.post("/api/auth/login", json={"username": "otto", "password": PASSWORD}).status_code == 401
    # role change: rita becomes an operator and loses the review queue
    env.admin.patch(f"/api/users/{users['rita']['id']}", json={"role": "operator"})
    assert login(env.app, "rita", PASSWORD).get("/api/cases").status_code == 403
    # the last admin cannot be demoted
    last = env.admin.patch(f"/api/users/{users['admin']['id']}", json={"role": "reviewer"})
    assert last.status_code == 409
    audit = env.admin.get("/api/audit", params={"action": "user.*"}).json()["items"]
    assert {"user.create", "user.update"} <= {e["action"] for e in audit}


def test_first_admin_bootstrap_only_when_no_users(settings):
    from service.main import create_app

    app = create_app(settings)
    main, env = start_env(app, settings)  # admin created from CIVICWATCH_ADMIN_PASSWORD
    main.__exit__(None, None, None)
    settings2 = settings.model_copy(update={"admin_password": "another-password-1"})
    app2 = create_app(settings2)
    from fastapi.testclient import TestClient

    with TestClient(app2) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": "another-password-1"})
        assert r.status_code == 401  # users exist: the env password does not reset the admin


def test_users_cli_adds_a_user(tmp_path, monkeypatch, database_url):
    import io

    from civicwatch.cli import main
    from service.config import Settings
    from service.main import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("CIVICWATCH_DATA_DIR", str(tmp_path / "cli"))
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-1\n"))
    assert main(["users", "add", "chief", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-1\n"))
    assert main(["users", "add", "chief", "--role", "admin", "--password-stdin"]) == 2  # exists
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "x", "--role", "reviewer", "--password-stdin"]) == 2
    with TestClient(create_app(Settings(runner="none"))) as c:
        r = c.post("/api/auth/login", json={"username": "chief", "password": "cli-password-1"})
        assert r.status_code == 200 and r.json()["role"] == "admin"


@pytest.mark.parametrize("body", [b"{not json", b'{"username": 5}', b"[]"])
def test_malformed_login_is_4xx_json(env, body):
    r = env.anon.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and "detail" in r.json()
