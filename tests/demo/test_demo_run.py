"""``civicwatch demo run`` (the README's main command) provisions through the API and finds the cases."""

from __future__ import annotations

import json
import socket

import pytest

from civicwatch.demo.run import DEMO_SCREEN, run_demo

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_run_analyses_the_footage_and_a_second_run_reuses_it(tmp_path, capsys):
    data = tmp_path / "var"
    port = _free_port()
    assert run_demo("127.0.0.1", port, data, serve_forever=False) == 0
    out = capsys.readouterr().out
    assert "4 case(s) found" in out
    creds = json.loads((data / "demo-credentials.json").read_text())
    assert oct((data / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
    assert f"/display/{DEMO_SCREEN}  (pair it once with display token {creds['display_token']})" in out
    assert "?token=" not in out

    # Second run: same database, nothing uploaded or created twice.
    port = _free_port()
    assert run_demo("127.0.0.1", port, data, serve_forever=False) == 0
    out = capsys.readouterr().out
    assert "analysing" not in out
    from service.config import Settings
    from service.db import make_engine, make_session_factory
    from service.models import Case, Upload

    factory = make_session_factory(make_engine(Settings(data_dir=data)))
    with factory() as db:
        assert db.query(Upload).count() == 1
        assert db.query(Case).count() == 4
        assert {c.state for c in db.query(Case)} == {"pending"}


def test_a_port_in_use_is_said_on_stderr_and_nothing_is_analysed(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert run_demo("127.0.0.1", taken.getsockname()[1], tmp_path / "var", serve_forever=False) == 2
    out, err = capsys.readouterr()
    assert "could not start" in err and "another service is on that port" in err
    assert "could not start" not in out and "analysing" not in out and "building" not in out
    assert "Traceback" not in err
