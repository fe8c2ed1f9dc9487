"""``civicwatch demo run`` (the README's main command) provisions through the API and finds the cases."""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from civicwatch.demo.run import DEMO_SCREEN, run_demo

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_run_analyses_the_footage_and_a_second_run_reuses_it(demo_service_run, tmp_path, capsys):
    # The first run is the session's one ``demo run`` (tests/conftest.py), whose analysis
    # tests/integration/test_demo_end_to_end.py checks too; the second runs here on a copy of its
    # data folder, so that one stays as the first run left it.
    first = demo_service_run
    out = first.out
    assert first.code == 0 and "4 case(s) found" in out, (first.code, out[-800:], first.err[-2000:])
    creds = json.loads((first.data_dir / "demo-credentials.json").read_text())
    assert oct((first.data_dir / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
    assert f"/display/{DEMO_SCREEN}  (pair it once with display token {creds['display_token']})" in out
    assert "?token=" not in out

    # Second run: same database, nothing uploaded or created twice.
    data = shutil.copytree(first.data_dir, tmp_path / "var")
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


@pytest.mark.parametrize("ending, code, said", [
    ({"state": "failed", "error": "VideoOpenError: no such file"}, 1, "the job ended failed: VideoOpenError"),
    (KeyboardInterrupt(), 130, None),
])
def test_an_analysis_that_did_not_end_done_is_not_a_success(tmp_path, capsys, monkeypatch, ending, code, said):
    """The README's main command: a demo whose analysis failed, or that Ctrl-C stopped while it
    analysed, exits non-zero (it exited 0 and printed the ready banner, or nothing at all)."""
    import civicwatch.demo.run as demo_run

    def follow(*_args, **_kw):
        if isinstance(ending, BaseException):
            raise ending
        return ending

    monkeypatch.setattr(demo_run, "build_demo", lambda: None)
    monkeypatch.setattr(demo_run, "provision", lambda *_a: 1)
    monkeypatch.setattr(demo_run, "follow_job", follow)
    assert run_demo("127.0.0.1", _free_port(), tmp_path / "var", serve_forever=False) == code
    out, err = capsys.readouterr()
    if said:
        assert said in err and "is running at" in out  # the pages stay served: the job page says more
    else:
        assert "is running at" not in out
