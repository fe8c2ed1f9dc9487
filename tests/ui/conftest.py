"""Fixtures for the browser tests: the demo footage, a live service, and Debian's Chromium."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def demo_footage():
    from civicwatch.demo import build_demo

    return build_demo()


@pytest.fixture(scope="module")
def live_service(tmp_path_factory, demo_footage):
    tmp = tmp_path_factory.mktemp("civicwatch-ui")
    svc = harness.start_service(tmp / "data")
    try:
        ref = harness.reference_frame(demo_footage.video, tmp / "reference.png")
        harness.seed(svc, demo_footage.scene, ref)
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(harness.CHROMIUM).is_file():
        pytest.fail(f"{harness.CHROMIUM} missing: apt-get install chromium (Playwright's own download does not work here)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where page screenshots go: a temp folder, or the folder named by CIVICWATCH_SCREENSHOTS
    (``scripts/screenshots.py`` sets it to docs/screenshots to refresh the committed ones)."""
    import os

    named = os.environ.get("CIVICWATCH_SCREENSHOTS")
    out = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out
