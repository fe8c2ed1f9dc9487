"""The authorisation matrix: every route of the app x anonymous / display / operator / reviewer /
admin. A route the table does not name fails the test, so nobody adds an endpoint without saying
who may call it.

Expectation per cell: a role in the route's set is *let in* (any answer but 401/403, and never a
5xx: with placeholder ids that is usually 404 or a 422 for the empty body); anyone else is refused
with 401 (anonymous) or 403 (signed in with another role).
"""

from __future__ import annotations

import re

import fastapi.routing as fastapi_routing
import pytest

ROLES = ("anonymous", "display", "operator", "reviewer", "admin")
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
ADMIN = frozenset({"admin"})
REVIEW = frozenset({"reviewer", "admin"})
STAFF = frozenset({"operator", "reviewer", "admin"})  # cameras (read), uploads and jobs (read)
UPLOAD = frozenset({"operator", "admin"})
SCREENS = frozenset({"display", "reviewer", "admin"})

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # documentation, health, metrics, signing key: public on purpose
    ("GET", "/openapi.json"): EVERYONE, ("GET", "/docs"): EVERYONE, ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/redoc"): EVERYONE, ("GET", "/healthz"): EVERYONE, ("GET", "/metrics"): EVERYONE,
    ("GET", "/api/signing-key"): EVERYONE,
    # pages are empty shells: the API behind them decides
    ("GET", "/"): EVERYONE, ("GET", "/login"): EVERYONE, ("GET", "/upload"): EVERYONE, ("GET", "/jobs"): EVERYONE,
    ("GET", "/review"): EVERYONE, ("GET", "/cameras"): EVERYONE, ("GET", "/cameras/{camera_id}"): EVERYONE,
    ("GET", "/admin"): EVERYONE, ("GET", "/display/{screen}"): EVERYONE, ("GET", "/lang/{code}"): EVERYONE,
    ("GET", "/static/{name:path}"): EVERYONE,
    # auth
    ("POST", "/api/auth/login"): EVERYONE, ("POST", "/api/auth/logout"): EVERYONE, ("GET", "/api/me"): SIGNED_IN,
    # users and tokens
    ("GET", "/api/users"): ADMIN, ("POST", "/api/users"): ADMIN, ("PATCH", "/api/users/{user_id}"): ADMIN,
    ("GET", "/api/tokens"): ADMIN, ("POST", "/api/tokens"): ADMIN, ("DELETE", "/api/tokens/{token_id}"): ADMIN,
    # cameras
    ("POST", "/api/cameras"): REVIEW, ("PUT", "/api/cameras/{camera_id}"): REVIEW, ("GET", "/api/cameras"): STAFF,
    ("GET", "/api/cameras/{camera_id}"): STAFF, ("GET", "/api/cameras/{camera_id}/reference"): STAFF,
    ("PATCH", "/api/cameras/{camera_id}"): REVIEW, ("PUT", "/api/cameras/{camera_id}/reference"): REVIEW,
    ("GET", "/api/cameras/{camera_id}/versions"): STAFF, ("GET", "/api/cameras/{camera_id}/versions/{number}"): STAFF,
    ("GET", "/api/cameras/{camera_id}/versions/{number}/reference"): STAFF,
    ("POST", "/api/cameras/{camera_id}/retire"): REVIEW, ("POST", "/api/cameras/{camera_id}/unretire"): REVIEW,
    ("DELETE", "/api/cameras/{camera_id}"): ADMIN,
    # live cameras: the stream URL (it may carry a password) is an administrator's; health is staff's
    ("PUT", "/api/cameras/{camera_id}/stream"): ADMIN, ("GET", "/api/live/health"): STAFF,
    # uploads and jobs
    ("POST", "/api/uploads"): UPLOAD, ("POST", "/api/uploads/sessions"): UPLOAD,
    ("GET", "/api/uploads/sessions/{session_id}"): UPLOAD, ("PATCH", "/api/uploads/sessions/{session_id}"): UPLOAD,
    ("POST", "/api/uploads/sessions/{session_id}/complete"): UPLOAD,
    ("DELETE", "/api/uploads/sessions/{session_id}"): UPLOAD,
    ("GET", "/api/uploads"): STAFF, ("GET", "/api/uploads/{upload_id}"): STAFF,
    ("GET", "/api/jobs"): STAFF, ("GET", "/api/jobs/{job_id}"): STAFF,
    ("POST", "/api/jobs/{job_id}/cancel"): UPLOAD, ("POST", "/api/jobs/{job_id}/retry"): UPLOAD,
    ("POST", "/api/jobs/{job_id}/flight-report"): STAFF,
    ("GET", "/api/jobs/{job_id}/flight-reports/{report_id}/{name:path}"): STAFF,
    # review
    ("GET", "/api/cases"): REVIEW, ("GET", "/api/cases/{case_id}"): REVIEW,
    ("POST", "/api/cases/{case_id}/approve"): REVIEW, ("POST", "/api/cases/{case_id}/reject"): REVIEW,
    ("POST", "/api/cases/{case_id}/publish"): REVIEW, ("POST", "/api/cases/{case_id}/withdraw"): REVIEW,
    ("GET", "/api/cases/{case_id}/evidence/{kind}"): REVIEW, ("POST", "/api/cases/{case_id}/annotated"): REVIEW,
    ("POST", "/api/cases/export"): REVIEW, ("POST", "/api/cases/bulk"): REVIEW,
    ("POST", "/api/cases/{case_id}/undo"): REVIEW, ("POST", "/api/cases/{case_id}/reopen"): REVIEW,
    ("POST", "/api/cases/{case_id}/plate"): REVIEW,
    # review statistics (figures only: no plate, no picture)
    ("GET", "/api/stats/cases"): REVIEW,
    # public feed (screens)
    ("GET", "/api/public/cases"): SCREENS, ("GET", "/api/public/cases/{ref}/media/{kind}"): SCREENS,
    ("GET", "/api/public/preview/{case_id}"): REVIEW,
    ("POST", "/api/public/pair"): EVERYONE, ("POST", "/api/public/unpair"): EVERYONE,
    # audit
    ("GET", "/api/audit"): ADMIN, ("GET", "/api/audit/export"): ADMIN,
}

# Placeholder path values: ids that do not exist (nothing is changed), names that are well-formed.
PATH_VALUES = {
    "user_id": "999999", "token_id": "999999", "job_id": "999999", "upload_id": "999999",
    "case_id": "J999999-nope", "ref": "nope", "kind": "clip", "camera_id": "nope-cam", "session_id": "nope",
    "screen": "lobby", "code": "en", "name": "js/common.js", "number": "999",
    "report_id": "internal-0000000000000000",
}

# Last: it ends the caller's session, which the other rows still need.
RUN_LAST = {("POST", "/api/auth/logout")}


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route, HEAD left out, whichever way this FastAPI nests routers."""
    found: list[tuple[str, str]] = []

    def walk(routes) -> None:
        for r in routes:
            included = getattr(fastapi_routing, "_IncludedRouter", None)
            effective = getattr(fastapi_routing, "_EffectiveRouteContext", None)
            if included is not None and isinstance(r, included):
                walk(r.effective_candidates())
                continue
            route = r.original_route if effective is not None and isinstance(r, effective) else r
            path = r.path
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    found.append((method, path))

    walk(app.router.routes)
    return found


def concrete(path: str) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1).split(":")[0]
        assert name in PATH_VALUES, f"add a placeholder value for path parameter {name!r} to PATH_VALUES"
        return PATH_VALUES[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def test_every_route_has_an_entry(env):
    routes = set(app_routes(env.app))
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes with no entry in the authorisation matrix (say who may call them): {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_authorisation_matrix(env):
    clients = {"anonymous": env.anon, "display": env.display, "operator": env.operator,
               "reviewer": env.reviewer, "admin": env.admin}
    routes = sorted(app_routes(env.app), key=lambda mp: (mp in RUN_LAST, mp))
    wrong: list[str] = []
    for method, path in routes:
        allowed = MATRIX.get((method, path))
        if allowed is None:
            pytest.fail(f"{method} {path} has no entry in the authorisation matrix")
        url = concrete(path)
        for role in ROLES:
            kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            r = clients[role].request(method, url, follow_redirects=False, **kwargs)
            if r.status_code >= 500:
                wrong.append(f"{role:9} {method} {url}: {r.status_code} {r.text[:120]}")
            elif role in allowed and r.status_code in (401, 403):
                wrong.append(f"{role:9} {method} {url}: refused ({r.status_code}) but should be let in: {r.text[:120]}")
            elif role not in allowed and r.status_code != (401 if role == "anonymous" else 403):
                wrong.append(f"{role:9} {method} {url}: {r.status_code}, expected "
                             f"{401 if role == 'anonymous' else 403}: {r.text[:120]}")
    assert not wrong, "\n".join(wrong)


def _rows(env) -> dict[str, list[str]]:
    """Every row of every table, as text (an API token's ``last_used_at`` left out: it records
    that the token was presented, refused or not)."""
    from sqlalchemy import inspect, text

    engine = env.app.state.engine
    out = {}
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            out[table] = sorted(repr(sorted((k, v) for k, v in r.items() if k != "last_used_at")) for r in rows)
    return out


def test_refused_writes_on_real_rows_change_nothing(env, cases, fast_redaction):
    """The matrix above uses ids that do not exist; here the case, camera, job, user and token are
    real, and a caller whose role may not write gets 401/403 naming the roles needed, with no
    row written (no decision, no audit entry, no upload session)."""
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    job_id = env.operator.get("/api/jobs").json()[0]["id"]
    user_id = next(u["id"] for u in env.admin.get("/api/users").json() if u["username"] == "rita")
    token_id = env.admin.get("/api/tokens").json()[0]["id"]
    review_writes = [("POST", f"/api/cases/{a}/publish", {}), ("POST", f"/api/cases/{b}/reject", {"reason_code": "duplicate", "reason": "x"}),
                     ("POST", f"/api/cases/{a}/withdraw", {"reason": "x"}),
                     ("POST", "/api/cases/bulk", {"ids": [b], "action": "reject", "reason_code": "duplicate"}),
                     ("POST", f"/api/cases/{b}/plate", {"text": "京A12345", "reason": "x"}),
                     ("PATCH", "/api/cameras/bj-overpass", {"timezone": "Europe/London"}),
                     ("POST", "/api/cameras/bj-overpass/retire", {"reason": "x"})]
    admin_writes = [("PUT", "/api/cameras/bj-overpass/stream", {"stream_url": "rtsp://u:p@cam.example/1"}),
                    ("DELETE", "/api/cameras/bj-overpass", None), ("POST", "/api/tokens", {"name": "x", "role": "display"}),
                    ("DELETE", f"/api/tokens/{token_id}", None), ("PATCH", f"/api/users/{user_id}", {"role": "admin"}),
                    ("POST", "/api/users", {"username": "zed", "password": "Secret-pass-999", "role": "admin"})]
    upload_writes = [("POST", f"/api/jobs/{job_id}/cancel", {}), ("POST", f"/api/jobs/{job_id}/retry", {}),
                     ("POST", "/api/uploads/sessions", {"filename": "a.mp4", "size": 10, "sha256": "0" * 64,
                                                        "camera": "bj-overpass"})]
    refused = [(role, w) for role in ("anonymous", "display", "operator") for w in review_writes]
    refused += [(role, w) for role in ("anonymous", "display", "operator", "reviewer") for w in admin_writes]
    refused += [(role, w) for role in ("anonymous", "display", "reviewer") for w in upload_writes]
    clients = {"anonymous": env.anon, "display": env.display, "operator": env.operator, "reviewer": env.reviewer}
    before = _rows(env)
    wrong = []
    for role, (method, url, body) in refused:
        r = clients[role].request(method, url, **({"json": body} if body is not None else {}))
        expected = 401 if role == "anonymous" else 403
        if r.status_code != expected or (role != "anonymous" and f"role {role!r} may not" not in r.json()["detail"]):
            wrong.append(f"{role} {method} {url}: {r.status_code} {r.text[:100]}")
    assert not wrong, "\n".join(wrong)
    after = _rows(env)
    assert {t for t in before if before[t] != after[t]} == set()
