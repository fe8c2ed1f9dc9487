"""Fixtures shared by every test: where the real footage lies."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FOOTAGE_DIR = REPO_ROOT.parent / "shared" / "footage"


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    """The real footage beside the checkout (``../shared/footage``); CI has it too."""
    if not FOOTAGE_DIR.is_dir():
        pytest.fail(f"real footage folder missing: {FOOTAGE_DIR} (it must sit beside the checkout)")
    return FOOTAGE_DIR


@pytest.fixture(scope="session")
def demo_footage(tmp_path_factory):
    """One demo build per test session, in a temporary folder (the photos cache is shared)."""
    from civicwatch.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"), force=True)


@pytest.fixture(autouse=True, scope="session")
def signing_key_in_tmp(tmp_path_factory):
    """Analyses sign their manifest with the user's key (``~/.config/civicwatch``) by default;
    tests use one made for the session instead, never the home folder's. Subprocesses inherit it."""
    from detector.signing import KEY_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, str(tmp_path_factory.mktemp("signing") / "signing-key.pem"))
        yield
