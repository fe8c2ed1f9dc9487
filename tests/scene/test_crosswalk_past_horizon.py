"""A crosswalk drawn with a corner past the horizon of the scene's ground calibration.

The red-light rule measures how deep a walker is in a crossing on the ground, in metres, to the
crossing's kerb edges. A corner past the horizon maps behind the camera, mirrored, so the edges
through it ran through places nowhere near the crossing: a walker on the kerb could be metres
"deep". Refused, naming the corner; a crossing drawn on the road loads and measures as before.
"""

from __future__ import annotations

import pytest

from detector.geometry import Ruler, ZoneDepth
from detector.scene import SceneError, load_scene_text

# The road's edges meet at (320, ~79): the horizon crosses the frame there.
SCENE = """
camera: c
frame_size: [640, 480]
signals:
  - {name: ped, timeline: [[0, red]]}
zones:
  - {name: zebra, kind: crosswalk, signal: ped, polygon: %s}
calibration:
  image: [[100, 470], [540, 470], [360, 150], [280, 150]]
  ground: [[0, 0], [7, 0], [7, 30], [0, 30]]
"""


@pytest.mark.parametrize("corner", [[330, 40], [330, 0]])
def test_a_crosswalk_corner_above_the_horizon_is_refused(corner):
    with pytest.raises(SceneError) as err:
        load_scene_text(SCENE % f"[[120, 440], [520, 440], {corner}, [300, 380]]", "s.yaml")
    (entry,) = err.value.errors
    assert entry["field"] == "zones[0].polygon[2]" and "horizon" in entry["msg"]


def test_a_crosswalk_on_the_road_loads_and_measures_in_metres():
    scene = load_scene_text(SCENE % "[[120, 440], [520, 440], [500, 380], [140, 380]]")
    (zebra,) = scene.zones
    depth = ZoneDepth(zebra.polygon, Ruler(scene.calibration.homography()), tuple(scene.frame_size))
    inside = depth.depth_m((320, 410), (310, 380, 330, 410), "person")
    outside = depth.depth_m((320, 470), (310, 440, 330, 470), "person")
    assert 0 < inside < 3 and outside < 0
