"""One demo build per test session, in a temporary folder (the photos cache is shared)."""

from __future__ import annotations

import pytest

from civicwatch.demo import DemoFootage, build_demo


@pytest.fixture(scope="session")
def demo_footage(tmp_path_factory) -> DemoFootage:
    return build_demo(tmp_path_factory.mktemp("demo"), force=True)
