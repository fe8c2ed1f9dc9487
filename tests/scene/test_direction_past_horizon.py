"""A lane's direction arrow drawn past the horizon of the scene's ground calibration.

Looking down a long road the horizon is in the picture; an arrow drawn along the lane up into the
sky above it ends at a point the homography maps behind the camera, so the lane's legal direction
on the ground came out reversed and every vehicle driving the right way was judged wrong-way.
Refused, naming the point; an arrow ending on the road loads as before.
"""

from __future__ import annotations

import pytest

from detector.rules import build_rules
from detector.scene import SceneError, load_scene_text

# The lane's edges meet at (320, ~79): the horizon crosses the frame there.
SCENE = """
camera: c
frame_size: [640, 480]
zones:
  - {name: lane, kind: lane, polygon: [[100, 470], [540, 470], [360, 150], [280, 150]], direction: %s}
calibration:
  image: [[100, 470], [540, 470], [360, 150], [280, 150]]
  ground: [[0, 0], [7, 0], [7, 30], [0, 30]]
"""


@pytest.mark.parametrize("tip", [[320, 40], [320, 0]])
def test_a_direction_ending_above_the_horizon_is_refused(tip):
    with pytest.raises(SceneError) as err:
        load_scene_text(SCENE % f"[[320, 460], {tip}]", "s.yaml")
    (entry,) = err.value.errors
    assert entry["field"] == "zones[0].direction[1]" and "horizon" in entry["msg"]


def test_a_direction_ending_on_the_road_loads_and_points_up_the_road():
    scene = load_scene_text(SCENE % "[[320, 460], [320, 160]]")
    (lane,) = build_rules(scene)
    assert lane.dir[1] == pytest.approx(1.0)  # away from the camera, as drawn
