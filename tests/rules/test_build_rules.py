"""build_rules: one rule per zone, chosen by zone kind, and all four satisfy the Rule protocol."""

from __future__ import annotations

from detector.rules import IllegalParkingRule, LitterRule, RedLightPedestrianRule, Rule, WrongWayRule, build_rules
from detector.scene import load_scene_text

SCENE = """
camera: test-cam
frame_size: [640, 480]
zones:
  - {name: xw, kind: crosswalk, signal: ped, polygon: [[200, 100], [300, 100], [300, 400], [200, 400]]}
  - {name: lane, kind: lane, direction: [[0, 0], [1, 0]], polygon: [[0, 300], [640, 300], [640, 380], [0, 380]]}
  - {name: kerb, kind: no_parking, max_stop_s: 30, gap_s: 5, polygon: [[0, 0], [640, 0], [640, 90], [0, 90]]}
  - {name: square, kind: no_litter, polygon: [[0, 400], [640, 400], [640, 480], [0, 480]]}
signals:
  - {name: ped, schedule: {cycle_s: 60, red: [[0, 30]]}}
"""


def test_one_rule_per_zone_in_zone_order():
    rules = build_rules(load_scene_text(SCENE))
    assert [type(r) for r in rules] == [RedLightPedestrianRule, WrongWayRule, IllegalParkingRule, LitterRule]
    assert [r.zone.name for r in rules] == ["xw", "lane", "kerb", "square"]
    assert all(isinstance(r, Rule) for r in rules)
    assert rules[2].gap_s == 5
    assert all(r.finish(0.0) == [] for r in rules)
