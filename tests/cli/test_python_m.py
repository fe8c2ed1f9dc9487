"""``python -m civicwatch`` runs the command as ``civicwatch`` does (where the venv's script is not
on PATH, or another interpreter is meant): it failed with "No module named civicwatch.__main__"."""

from __future__ import annotations

import subprocess
import sys


def test_python_m_civicwatch_is_the_civicwatch_command():
    out = subprocess.run([sys.executable, "-m", "civicwatch", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: civicwatch ") and "analyze" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "civicwatch", "render", "no-such-run"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "no such folder" in bad.stderr  # the exit code comes through
