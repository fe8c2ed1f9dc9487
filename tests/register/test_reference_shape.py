"""A drone scene's reference image must be the picture its zones were drawn on: the same shape as
the scene's ``frame_size`` (any resolution, scaled evenly); another shape is refused, naming both
sizes, instead of being stretched onto the frame so the zones slid off what they were drawn on."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from detector.pipeline import AnalyzeOptions, analyze
from detector.register import ReferenceRegistration, map_points
from detector.scene import SceneError
from tests.register.red_blobs import RedBlobs
from tests.tracks.test_stabilise import frames

BEIJING = "beijing-intersection/uadetrac_overpass.mp4"


def _scene(tmp_path, reference: np.ndarray) -> None:
    cv2.imwrite(str(tmp_path / "reference.png"), reference)
    scene = {"camera": "drone-shape", "kind": "drone", "timezone": "UTC", "frame_size": [960, 540],
             "reference_image": "reference.png",
             "zones": [{"name": "kerb", "kind": "no_parking", "max_stop_s": 1,
                        "polygon": [[100, 100], [400, 100], [400, 440], [100, 440]]}]}
    (tmp_path / "drone.scene.yaml").write_text(yaml.safe_dump(scene))


def test_a_reference_of_another_shape_than_the_frame_is_refused_naming_both_sizes(footage_dir, tmp_path):
    """A 4:3 picture of the place for a scene drawn at 960x540 (16:9): stretched onto the frame, a
    zone drawn at its right edge sat 25 % further right on the ground. Refused before any work."""
    ground = frames(footage_dir / BEIJING, 1)[0]
    _scene(tmp_path, ground[:, :720])  # 720x540
    with pytest.raises(SceneError, match="720x540.*960x540"):
        analyze(footage_dir / BEIJING, tmp_path / "drone.scene.yaml", tmp_path / "out",
                AnalyzeOptions(evidence=False, slicing="off"), detector=RedBlobs(2, "car"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="720x540.*960x540"):
        ReferenceRegistration((960, 540), ground[:, :720])


def test_a_reference_of_the_frames_shape_at_another_resolution_is_scaled_evenly(footage_dir):
    """Half the resolution, the same shape: a frame of the place maps onto the scene's pixels as
    the full-size reference would have it (where the zones were drawn)."""
    ground = frames(footage_dir / BEIJING, 1)[0]
    half = cv2.resize(ground, (480, 270), interpolation=cv2.INTER_AREA)
    reg = ReferenceRegistration((960, 540), half)
    hom = reg.update(0.0, ground)
    assert hom is not None
    points = np.array([[100.0, 100.0], [800.0, 450.0], [480.0, 270.0]])
    assert np.allclose(map_points(points, hom), points, atol=2.0)
