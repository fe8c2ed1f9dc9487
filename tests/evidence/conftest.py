"""Session fixtures for the evidence tests; the scripted material lives in ``helpers``."""

from __future__ import annotations

import pytest

from .helpers import make_logs, make_scene


@pytest.fixture(scope="session")
def scene():
    return make_scene()


@pytest.fixture(scope="session")
def logs():
    return make_logs()
