"""Fixtures of the live-camera tests: a real RTSP camera serving real footage."""

from __future__ import annotations

import pytest

from .helpers import CLIP, RtspCamera


@pytest.fixture
def rtsp_camera(footage_dir):
    camera = RtspCamera(footage_dir / CLIP)
    camera.start()
    yield camera
    camera.kill()
