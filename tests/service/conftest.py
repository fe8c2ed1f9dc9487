"""Service fixtures: the app on SQLite and on the local PostgreSQL, users of every role, a camera,
and a real evidence run to seed cases from.

Every database test runs on both backends (``db_backend`` is parametrised). PostgreSQL gets one
fresh database per test session (``civicwatch_test_<random>``), dropped at the end; tables are
emptied between tests instead of re-created, which keeps the run short.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from service.config import Settings
from service.db import normalize_url
from service.main import create_app

from .helpers import ADMIN_PASSWORD, PASSWORD, SCENE_YAML, SHORT_CLIP, bearer, browser_client, login, make_run

PG_SERVER = os.environ.get("CIVICWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """argon2 at production cost takes ~0.8 s a hash on the CI machine; the tests check who may do
    what, not the hash strength, so they use the same algorithm with minimal cost."""
    from argon2 import PasswordHasher

    import service.security as security

    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = original


@pytest.fixture(scope="session")
def postgres_url():
    name = f"civicwatch_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"the local PostgreSQL at {PG_SERVER} is needed for the database tests: {err}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _empty_tables(url: str) -> None:
    engine = create_engine(normalize_url(url))
    try:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        if tables:
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(db_backend, request) -> str | None:
    if db_backend == "sqlite":
        return None  # the default: a file in data_dir
    url = request.getfixturevalue("postgres_url")
    _empty_tables(url)
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=database_url, admin_password=ADMIN_PASSWORD,
                    runner="none", job_poll_s=0.05)


@dataclass
class Env:
    """A started app and clients for each role."""

    app: object
    settings: Settings
    admin: TestClient
    reviewer: TestClient
    operator: TestClient
    operator2: TestClient
    anon: TestClient
    display: TestClient
    display_token: str

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def start_env(app, settings: Settings) -> tuple[TestClient, Env]:
    main = TestClient(app)
    main.__enter__()  # runs the lifespan: migrations, admin bootstrap, runner
    admin = login(app, "admin", ADMIN_PASSWORD)
    for name, role in (("rita", "reviewer"), ("otto", "operator"), ("olga", "operator")):
        r = admin.post("/api/users", json={"username": name, "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.text
    tok = admin.post("/api/tokens", json={"name": "lobby screen", "role": "display", "screen": "lobby"})
    assert tok.status_code == 201, tok.text
    token = tok.json()["token"]
    env = Env(app, settings, admin, login(app, "rita", PASSWORD), login(app, "otto", PASSWORD),
              login(app, "olga", PASSWORD), browser_client(app), bearer(app, token), token)
    return main, env


@pytest.fixture
def env(settings):
    app = create_app(settings)
    main, e = start_env(app, settings)
    yield e
    main.__exit__(None, None, None)


@pytest.fixture
def fast_redaction(monkeypatch):
    """Redaction with no region finder: the real code's safe fallback (blur all but the offender),
    without running the detector over every frame of every clip a test approves."""
    import service.redaction as redaction

    monkeypatch.setattr(redaction, "default_finders", lambda: [])


@pytest.fixture(scope="session")
def scene_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scene") / "bj-overpass.yaml"
    p.write_text(SCENE_YAML, encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def evidence_template(tmp_path_factory, footage_dir, scene_file) -> Path:
    """One real run folder, written once per session and copied into each test's data dir."""
    out = tmp_path_factory.mktemp("run-template") / "run"
    cases = make_run(footage_dir / SHORT_CLIP, out, scene_file)
    assert len(cases) == 2
    return out


@pytest.fixture
def camera(env) -> dict:
    r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", SCENE_YAML.encode(), "application/x-yaml")})
    assert r.status_code == 201, r.text
    return r.json()


def upload_clip(client: TestClient, path: Path, camera_id: str = "bj-overpass", **meta) -> dict:
    with open(path, "rb") as fh:
        r = client.post("/api/uploads", data={"camera": camera_id, **meta}, files={"file": (path.name, fh, "video/mp4")})
    assert r.status_code == 201, r.text
    return r.json()


def seed_cases(env: Env, job_id: int, template: Path) -> list[str]:
    """Finish ``job_id`` as the pipeline would: its run folder in place, cases ingested."""
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.models import Job

    from .helpers import copy_run

    with session_scope(env.app.state.session_factory) as db:
        job = db.get(Job, job_id)
        job.out_dir = f"jobs/{job_id}/run-1"
        copy_run(template, env.data_dir / job.out_dir)
        rows = ingest_run(db, job, env.data_dir / job.out_dir, env.data_dir)
        job.state, job.progress, job.cases_found = "done", 100.0, len(rows)
        return sorted(r.id for r in rows)


@pytest.fixture
def cases(env, camera, footage_dir, evidence_template) -> list[str]:
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    return seed_cases(env, up["job_id"], evidence_template)
