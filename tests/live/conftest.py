"""Fixtures of the live-camera tests: a real RTSP camera serving real footage."""

from __future__ import annotations

import pytest

from .helpers import SHORT_CLIP, RtspCamera


@pytest.fixture
def rtsp_camera(footage_dir):
    """The short clip in a loop: a keyframe every 2.3 s, so segments (cut at keyframes) are short."""
    camera = RtspCamera(footage_dir / SHORT_CLIP)
    camera.start()
    yield camera
    camera.kill()
