"""``civicwatch serve`` with settings it cannot use: one line on stderr and exit code 2, before
anything listens (an init system or a container log then shows why the service did not start)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_bad_settings_are_refused_on_stderr(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "CIVICWATCH_DATA_DIR": str(tmp_path),
           "CIVICWATCH_BROKER_URL": "nonsense://cache/0"}
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "serve", "--port", "0"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "civicwatch serve: bad settings" in run.stderr and "broker_url" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
