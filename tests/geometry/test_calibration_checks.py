"""Ground calibrations that findHomography solves but that do not describe the road.

Four point pairs always yield *a* homography, even when the ground points are listed in another
order than the image points (the road's quadrilateral twisted into a bow-tie) or when three of
them lie on one line (many homographies fit, one is picked at random). Both were accepted
without a word and every distance measured through them was nonsense.
"""

from __future__ import annotations

import pytest

from detector.scene import Scene, SceneError, load_scene_text

IMAGE = [[200, 400], [600, 400], [500, 100], [300, 100]]
GROUND = [[0, 0], [10, 0], [10, 20], [0, 20]]

BASE = """
camera: c
frame_size: [640, 480]
zones:
  - {name: kerb, kind: no_parking, polygon: [[0, 300], [640, 300], [640, 480], [0, 480]]}
"""


def with_calibration(image, ground) -> str:
    return BASE + f"calibration:\n  image: {image}\n  ground: {ground}\n"


def test_ground_points_in_another_order_than_the_image_points_are_refused():
    # the last two ground points swapped: the image's trapezoid maps to a bow-tie, and the line the
    # homography sends to infinity runs through the middle of the calibrated area
    swapped = [GROUND[0], GROUND[1], GROUND[3], GROUND[2]]
    with pytest.raises(SceneError) as err:
        load_scene_text(with_calibration(IMAGE, swapped), "s.yaml")
    (entry,) = err.value.errors
    assert entry["field"] == "calibration" and "order" in entry["msg"]


def test_four_points_with_three_on_one_line_are_refused():
    # three image points on the bottom row and their ground points on one line: the fourth point
    # does not pin down the perspective, so no single plane is defined
    image = [[100, 400], [300, 400], [500, 400], [300, 100]]
    ground = [[0, 0], [5, 0], [10, 0], [5, 20]]
    with pytest.raises(SceneError) as err:
        load_scene_text(with_calibration(image, ground), "s.yaml")
    (entry,) = err.value.errors
    assert entry["field"] == "calibration" and "line" in entry["msg"]


def test_good_calibrations_still_load_and_recorded_scenes_are_not_refused():
    assert load_scene_text(with_calibration(IMAGE, GROUND)).calibration is not None
    # five points, three of them on one line, are enough: the others fix the plane
    image = [*IMAGE, [400, 400]]
    ground = [*GROUND, [5, 0]]
    assert load_scene_text(with_calibration(image, ground)).calibration is not None
    # a scene recorded with a case (tracks.json) reads back whatever it held
    import yaml

    swapped = [GROUND[0], GROUND[1], GROUND[3], GROUND[2]]
    data = yaml.safe_load(with_calibration(IMAGE, swapped))
    assert Scene.model_validate(data, context={"recorded": True}).calibration is not None
