"""Regenerate docs/screenshots/*.png: runs the browser flow test with its screenshots kept.

Usage: .venv/bin/python scripts/screenshots.py   (needs Debian's chromium: apt-get install chromium)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CIVICWATCH_SCREENSHOTS": str(out)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", str(ROOT / "tests" / "ui" / "test_browser_flow.py")]
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
