"""An optional key left empty in a scene file (its value commented out, so YAML reads null) takes
its default, at every level of the file, as README ("What is checked") says; a required key left
empty is still refused naming its field."""

from __future__ import annotations

import re

import pytest

from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, SceneError, load_scene_text

EMPTIED = """\
camera: cam
kind:
timezone:
place:
start_time:
calibration:
slicing: {enabled: , tile: , overlap: }
frame_size: [960, 540]
zones:
  - name: crossing
    kind: crosswalk
    polygon: [[420, 180], [900, 180], [900, 360], [420, 360]]
    signal: ped
    min_entry_depth_m:     # 0.5
    min_entry_distance:
    grace_s:
    classes:
    label:
  - name: lane
    kind: lane
    polygon: [[150, 300], [560, 300], [560, 540], [150, 540]]
    direction: [[350, 520], [350, 320]]
    window_s:              # 3
    min_distance_m:
    min_distance:
    max_cosine:
    trigger:
    min_overlap:
  - name: stop
    kind: no_parking
    polygon: [[420, 180], [900, 180], [900, 360], [420, 360]]
    max_stop_s:
    gap_s:
    stationary_radius_m:
    stationary_radius:
  - name: square
    kind: no_litter
    polygon: [[0, 0], [300, 0], [300, 200], [0, 200]]
    min_static_s:
    min_area:
    max_area:
signals:
  - name: ped
    schedule: {cycle_s: 90, offset_s: , red: [[0, 60]]}
    debounce_s:
"""


def test_optional_keys_left_empty_in_zones_and_signals_take_their_defaults():
    scene = load_scene_text(EMPTIED, "scene.yaml")
    crossing, lane, stop, square = scene.zones
    assert isinstance(crossing, CrosswalkZone)
    assert (crossing.min_entry_depth_m, crossing.min_entry_distance, crossing.grace_s) == (0.5, None, 0.0)
    assert crossing.classes is None and crossing.label is None
    assert isinstance(lane, LaneZone)
    assert (lane.window_s, lane.min_distance_m, lane.min_distance, lane.max_cosine) == (2.0, 0.8, None, -0.5)
    assert (lane.trigger, lane.min_overlap) == ("point", 0.3)
    assert isinstance(stop, NoParkingZone)
    assert (stop.max_stop_s, stop.gap_s, stop.stationary_radius_m, stop.stationary_radius) == (60.0, 8.0, 0.4, None)
    assert isinstance(square, NoLitterZone)
    assert (square.min_static_s, square.min_area, square.max_area) == (10.0, 60.0, 20000.0)
    (ped,) = scene.signals
    assert ped.debounce_s == 0.5 and ped.schedule is not None and ped.schedule.offset_s == 0.0
    assert scene.slicing is not None and (scene.slicing.enabled, scene.slicing.tile, scene.slicing.overlap) == (True, None, 0.2)
    assert (scene.kind, scene.timezone, scene.place, scene.start_time, scene.calibration) == (
        "fixed", "Asia/Shanghai", None, None, None)


@pytest.mark.parametrize(("emptied", "field"), [
    ("    polygon: [[150, 300], [560, 300], [560, 540], [150, 540]]\n", "zones[1].polygon"),
    ("    direction: [[350, 520], [350, 320]]\n", "zones[1].direction"),
    ("    signal: ped\n", "zones[0].signal"),
    ("frame_size: [960, 540]\n", "frame_size"),
    ("camera: cam\n", "camera"),
])
def test_a_required_key_left_empty_is_still_refused_naming_it(emptied, field):
    key = emptied.split(":")[0]
    with pytest.raises(SceneError, match=rf"scene\.yaml: {re.escape(field)}: "):
        load_scene_text(EMPTIED.replace(emptied, f"{key}:\n"), "scene.yaml")
