"""Health, metrics, OpenAPI docs, error shapes, migrations on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient

from service.db import make_engine, migrate
from service.main import create_app
from service.models import Base


def test_healthz_metrics_docs(env):
    r = env.anon.get("/healthz")
    assert r.status_code == 200 and {k: r.json()[k] for k in ("status", "db", "disk")} == {
        "status": "ok", "db": "ok", "disk": "ok"}
    metrics = env.anon.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    for name in ("civicwatch_jobs", "civicwatch_cases", "civicwatch_processing_speed_ratio"):
        assert f"# TYPE {name} gauge" in metrics.text
    assert 'civicwatch_jobs{state="queued"} 0.0' in metrics.text
    assert env.anon.get("/docs").status_code == 200
    paths = env.anon.get("/openapi.json").json()["paths"]
    for p in ("/api/uploads/sessions/{session_id}", "/api/cases/{case_id}/approve", "/api/public/cases"):
        assert p in paths


def test_metrics_token_when_set_is_required(settings):
    """The metrics name every live camera and count cases by state: with ``metrics_token`` set
    only a scraper that sends it reads them; a signed-in admin's cookie is not the token."""
    token = "scrape-" + "x" * 24
    app = create_app(settings.model_copy(update={"metrics_token": token}))
    with TestClient(app) as c:
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": token},
                        {"Authorization": f"Basic {token}"}):
            r = c.get("/metrics", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
            assert r.json()["code"] == "metrics_token" and "civicwatch_jobs" not in r.text
        r = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "# TYPE civicwatch_jobs gauge" in r.text
        assert c.get("/healthz").status_code == 200  # health stays open for load balancers


def test_healthz_reports_a_dead_database(settings):
    app = create_app(settings)
    with TestClient(app) as c:
        app.state.engine.dispose()
        app.state.engine = make_engine(settings.model_copy(update={
            "database_url": "postgresql://postgres@127.0.0.1:1/none"}))
        r = c.get("/healthz")
        assert r.status_code == 503 and r.json()["db"] == "unreachable"


def test_unknown_paths_and_methods_are_json_4xx(env):
    assert env.admin.get("/api/nothing-here").status_code == 404
    r = env.admin.delete("/api/cases")
    assert r.status_code == 405 and "detail" in r.json()
    r = env.admin.post("/api/users", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500


def test_migrations_match_models_and_are_idempotent(settings):
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        migrate(settings, engine)  # a second start changes nothing
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
