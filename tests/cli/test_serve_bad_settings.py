"""``civicwatch serve`` with settings or an address it cannot use: one line on stderr and exit code 2, before
anything listens (an init system or a container log then shows why the service did not start)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def test_bad_settings_are_refused_on_stderr(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "CIVICWATCH_DATA_DIR": str(tmp_path),
           "CIVICWATCH_BROKER_URL": "nonsense://cache/0"}
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "serve", "--port", "0"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "civicwatch serve: bad settings" in run.stderr and "broker_url" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "CIVICWATCH_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", "serve", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_a_port_in_use_is_refused_before_the_database_is_touched(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = serve(tmp_path, "--port", str(port))
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"civicwatch serve: cannot listen on 127.0.0.1:{port}" in run.stderr and "in use" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert not (tmp_path / "db.sqlite").exists()  # refused before the app was built


@pytest.mark.parametrize("args, said", [(["--port", "70000"], "--port"),
                                        (["--host", "192.0.2.1", "--port", "0"], "192.0.2.1")])
def test_an_address_that_cannot_be_listened_on_is_refused(tmp_path, args, said):
    run = serve(tmp_path, *args)
    assert run.returncode == 2 and said in run.stderr, run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_cannot_listen_names_a_port_out_of_range_and_passes_a_free_one():
    from civicwatch.commands import cannot_listen

    assert cannot_listen("127.0.0.1", 0) is None
    for port in (70000, -1):  # getaddrinfo alone would wrap 70000 round to 4464
        assert "0 to 65535" in cannot_listen("127.0.0.1", port)


@pytest.mark.parametrize("command", [["serve"], ["demo", "run"]])
@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_every_command_that_listens_names_a_bad_port_option(command, port, capsys, tmp_path, monkeypatch):
    from civicwatch.cli import main

    monkeypatch.chdir(tmp_path)  # the demo's default data folder must not be made
    with pytest.raises(SystemExit) as stop:
        main([*command, "--port", port])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing built or stored
