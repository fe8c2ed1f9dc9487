"""The code stays free of what pyflakes finds (unused imports and variables, undefined names).

Unused imports in this code base were leftovers of copy-pasted import blocks and of code that
moved; an undefined name is a crash waiting on a rarely taken branch. The rules are in
pyproject.toml (``[tool.ruff.lint]``); ruff comes with the test extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
