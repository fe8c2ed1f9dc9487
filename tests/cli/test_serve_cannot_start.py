"""``civicwatch serve`` / ``worker`` with a data folder they cannot write, a database URL they have no
driver for, or a database that does not answer: one line on stderr naming the setting, exit code 2,
no traceback and no password (the operator reads this in the init system's journal)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def start(command: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {**os.environ, "CIVICWATCH_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}
    base.pop("CIVICWATCH_CONFIG", None)
    args = ["--port", "0"] if command == "serve" else ["--metrics-port", "0"]
    return subprocess.run(
        [sys.executable, "-m", "civicwatch.cli", command, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_data_folder_that_cannot_be_made_is_named(command, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    run = start(command, tmp_path, CIVICWATCH_DATA_DIR=str(tmp_path / "a-file" / "data"))
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"civicwatch {command}: data folder" in run.stderr and "CIVICWATCH_DATA_DIR" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_database_that_does_not_answer_is_named_without_its_password(command, tmp_path):
    url = f"postgresql://civic:s3cret-pw@127.0.0.1:{free_port()}/civicwatch"
    run = start(command, tmp_path, DATABASE_URL=url)
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"civicwatch {command}: database postgresql://civic:***@127.0.0.1" in run.stderr
    assert "does not answer" in run.stderr and "refused" in run.stderr.lower()
    assert "Traceback" not in run.stderr and "s3cret-pw" not in run.stderr


def test_a_database_url_without_a_driver_is_a_bad_setting(tmp_path):
    run = start("serve", tmp_path, DATABASE_URL="mysql://civic:s3cret-pw@db/civicwatch")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "civicwatch serve: bad settings: DATABASE_URL" in run.stderr and "'mysql'" in run.stderr
    assert "Traceback" not in run.stderr and "s3cret-pw" not in run.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_bad_setting_is_named_without_the_value_given(command, tmp_path):
    """pydantic's text repeats each rejected value: a broker URL's password went to stderr."""
    run = start(
        command, tmp_path, CIVICWATCH_BROKER_URL="nonsense://:s3cret-pw@cache:6379/0", CIVICWATCH_MQTT_PORT="not-a-port"
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "bad settings" in run.stderr and "broker_url" in run.stderr and "mqtt_port" in run.stderr
    assert "s3cret-pw" not in run.stderr and "Traceback" not in run.stderr


def users(tmp_path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    base = {**os.environ, "CIVICWATCH_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}
    base.pop("CIVICWATCH_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "civicwatch.cli", "users", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
        input=stdin,
    )


@pytest.mark.parametrize("args", [["list"], ["add", "admin", "--role", "admin", "--password-stdin"]])
def test_users_commands_name_what_stops_them(tmp_path, args):
    """``civicwatch users add`` is the README's first-start step: it answered a database that was
    down, or a bad setting, with a traceback (pydantic's text repeating a password given)."""
    stdin = "a-Long-enough-pass-123\n"
    down = users(tmp_path, *args, stdin=stdin, DATABASE_URL=f"postgresql://civic:s3cret-pw@127.0.0.1:{free_port()}/cw")
    assert down.returncode == 2, down.stderr[-2000:]
    assert f"civicwatch users {args[0]}: database postgresql://civic:***@" in down.stderr
    assert "Traceback" not in down.stderr and "s3cret-pw" not in down.stderr
    bad = users(tmp_path, *args, stdin=stdin, DATABASE_URL="mysql://civic:s3cret-pw@db/cw")
    assert bad.returncode == 2 and "bad settings: DATABASE_URL" in bad.stderr, bad.stderr[-2000:]
    assert "Traceback" not in bad.stderr and "s3cret-pw" not in bad.stderr
    assert users(tmp_path, *args, stdin=stdin).returncode == 0  # usable settings: the command runs


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_database_migrated_by_a_newer_release_is_named(command, tmp_path):
    """A release rolled back after a newer one migrated the database: Alembic's 'Can't locate
    revision' traceback (serve exit 3) said nothing of what to do."""
    from sqlalchemy import text

    from service.config import Settings
    from service.db import make_engine, migrate

    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        engine.dispose()
    run = start(command, tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "schema revision '0999'" in run.stderr and "newer CivicWatch" in run.stderr
    assert "Traceback" not in run.stderr


def test_record_for_a_registered_camera_names_a_database_that_does_not_answer(tmp_path):
    url = f"postgresql://civic:s3cret-pw@127.0.0.1:{free_port()}/civicwatch"
    base = {**os.environ, "CIVICWATCH_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}
    base.pop("CIVICWATCH_CONFIG", None)
    run = subprocess.run(
        [sys.executable, "-m", "civicwatch.cli", "record", "--camera", "bj-overpass"],
        capture_output=True,
        text=True,
        timeout=90,
        env=base,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert "civicwatch record: database postgresql://civic:***@" in run.stderr and "does not answer" in run.stderr
    assert "Traceback" not in run.stderr and "s3cret-pw" not in run.stderr
