"""A no_litter zone whose ``min_area`` is above its ``max_area`` leaves no blob size that counts:
it would never raise a case and nothing would say why, so the scene is refused naming both."""

from __future__ import annotations

import pytest

from detector.scene import SceneError, load_scene_text

SCENE = """\
camera: cam
frame_size: [640, 360]
zones:
  - {{name: plaza, kind: no_litter, polygon: [[0, 200], [640, 200], [640, 360], [0, 360]]{extra}}}
"""


def test_a_litter_zone_with_no_blob_size_left_is_refused_naming_both_fields():
    with pytest.raises(SceneError) as err:
        load_scene_text(SCENE.format(extra=", min_area: 5000, max_area: 400"))
    said = str(err.value)
    assert "zones[0]" in said and "min_area (5000) is larger than max_area (400)" in said


@pytest.mark.parametrize("extra", ["", ", min_area: 400, max_area: 400", ", max_area: 100000"])
def test_a_range_that_holds_a_size_still_loads(extra):
    zone = load_scene_text(SCENE.format(extra=extra)).zones[0]
    assert zone.min_area <= zone.max_area
