"""A class a zone lists that its rule can never see (a typo, a class the tracker drops) is named
in the analysis warnings instead of silently switching the zone's rule off."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.models.metadata import COCO_NAMES
from detector.pipeline import zone_class_warnings
from detector.scene import load_scene, load_scene_text

REPO = Path(__file__).resolve().parents[2]

SCENE = """
camera: x
frame_size: [640, 360]
zones:
  - {name: lane-a, kind: lane, polygon: [[0, 0], [600, 0], [600, 300], [0, 300]],
     direction: [[10, 10], [10, 100]], classes: [carr, car, rider]}
  - {name: plaza, kind: no_litter, polygon: [[0, 0], [600, 0], [600, 300], [0, 300]], classes: [bottle, object, wrapper]}
  - {name: lot, kind: no_parking, polygon: [[0, 0], [600, 0], [600, 300], [0, 300]], classes: [car, bottle]}
  - {name: kerb, kind: no_parking, polygon: [[0, 0], [600, 0], [600, 300], [0, 300]]}
"""


def test_classes_no_rule_can_see_are_named_per_zone():
    warnings = zone_class_warnings(load_scene_text(SCENE, "t.yaml"), COCO_NAMES)
    assert len(warnings) == 3, warnings
    lane, plaza, lot = warnings
    assert lane.startswith("zones[0] (lane-a): classes ['carr']") and "check the spelling" in lane
    assert plaza.startswith("zones[1] (plaza): classes ['wrapper']")  # bottle is a model class, object the finder's
    assert lot.startswith("zones[2] (lot): classes ['bottle']")  # bottles are not tracked: parking never sees one


SHIPPED = sorted(p for p in [*REPO.glob("samples/**/*.yaml"), *REPO.glob("benchmarks/dev-set/*.scene.yaml")]
                 if "build" not in p.parts and "\nzones:" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_scenes_we_ship_list_only_classes_their_rules_see(path):
    assert zone_class_warnings(load_scene(path), COCO_NAMES) == []
