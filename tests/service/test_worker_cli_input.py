"""``civicwatch worker`` with bad settings or options: one line on stderr naming the problem and
exit code 2, before the model is loaded; never a traceback (a metrics port out of range or already taken,
a broker URL Celery has no transport for)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from pydantic import ValidationError

from service.config import Settings
from service.db import make_engine, migrate


def worker(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
               "CIVICWATCH_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", "worker", *args], capture_output=True, text=True,
                          timeout=120, env=environ)


@pytest.fixture
def migrated(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path / "data")
    settings.ensure_dirs()
    engine = make_engine(settings)
    migrate(settings, engine)
    engine.dispose()
    return tmp_path


def test_a_metrics_port_out_of_range_is_refused(migrated):
    run = worker(migrated, "--metrics-port", "70000")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "--metrics-port" in run.stderr and "Traceback" not in run.stderr and run.stdout == ""


def test_a_metrics_port_already_taken_is_refused(migrated):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        run = worker(migrated, "--metrics-port", str(taken.getsockname()[1]))
    assert run.returncode == 2, run.stderr[-2000:]
    assert "metrics" in run.stderr and "in use" in run.stderr and "Traceback" not in run.stderr


def test_the_metrics_address_is_a_setting(migrated):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = worker(migrated, "--metrics-port", str(port), CIVICWATCH_WORKER_METRICS_HOST="127.0.0.1")
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"127.0.0.1:{port}" in run.stderr and "in use" in run.stderr and "Traceback" not in run.stderr
    run = worker(migrated, "--metrics-port", "0", CIVICWATCH_WORKER_METRICS_HOST="metrics.local")
    assert run.returncode == 2 and "bad settings" in run.stderr and "worker_metrics_host" in run.stderr, run.stderr[-2000:]
    assert Settings(data_dir=migrated, worker_metrics_host=" ::1 ").worker_metrics_host == "::1"


@pytest.mark.parametrize("url", ["nonsense://cache/0", "127.0.0.1:6379", "http://cache:6379/0"])
def test_a_broker_url_that_is_not_redis_is_a_settings_error(tmp_path, url):
    with pytest.raises(ValidationError, match="broker_url"):
        Settings(data_dir=tmp_path, broker_url=url)
    run = worker(tmp_path, "--metrics-port", "0", CIVICWATCH_BROKER_URL=url)
    assert run.returncode == 2 and "bad settings" in run.stderr and "broker_url" in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/1", "redis+socket:///run/redis.sock"])
def test_redis_broker_urls_pass(tmp_path, url):
    assert Settings(data_dir=tmp_path, broker_url=url).broker_url == url
