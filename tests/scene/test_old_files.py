"""Scene files written for the first version still load, and every field added since leaves them
as they were (project rule: users keep their scene files).

The texts are the oldest committed versions of the sample scenes (header comments dropped):
samples/scenes/beijing-overpass.yaml and samples/scenes/motorway-cctv.yaml as first added, and
samples/demo/scene.yaml as the demo generator first wrote it. Fields added later (labels, per-
language places, calibration, triggers, drone reference images, mosaics, slicing) must default to
what these files meant then.

Not asserted here: lane ``min_distance`` and parking ``stationary_radius`` left out of a file
defaulted to 40 px and 15 px (crosswalk ``min_entry_distance`` to 25 px) in the first version;
since the metric thresholds those defaults are metres (README, "Metres"). Pixel values a file
gives keep their pixel meaning (tests/geometry/test_geometry.py).
"""

from __future__ import annotations

import pytest

from detector.models.metadata import COCO_NAMES
from detector.pipeline import zone_class_warnings
from detector.rules import build_rules
from detector.scene import LaneZone, NoParkingZone, load_scene_text
from detector.slicing import resolve_slicing

BEIJING_OVERPASS = """\
camera: beijing-overpass
kind: fixed
place: "Beijing, overpass intersection (UA-DETRAC MVI_20011)"
timezone: Asia/Shanghai
start_time: "2015-06-01T08:00:00+08:00"
frame_size: [960, 540]
zones:
  - name: near-lanes
    kind: lane
    polygon: [[150, 300], [560, 300], [560, 540], [150, 540]]
    direction: [[350, 520], [350, 320]]     # legal travel: up the image, away from the camera
    classes: [car, truck, bus, motorcycle, bicycle]
  - name: junction-box
    kind: no_parking
    polygon: [[420, 180], [900, 180], [900, 360], [420, 360]]
    max_stop_s: 5
    classes: [car, truck, bus]
signals: []
"""

MOTORWAY_CCTV = """\
camera: motorway-cctv
kind: fixed
place: "Motorway CCTV (bgslibrary dataset video02)"
timezone: Europe/Rome
frame_size: [320, 240]
zones:
  - name: right-carriageway
    kind: lane
    polygon: [[150, 240], [320, 240], [320, 60], [240, 40], [200, 40]]
    direction: [[220, 220], [260, 80]]      # away from the camera
    classes: [car, truck, bus, motorcycle, bicycle]
  - name: left-carriageway
    kind: lane
    polygon: [[0, 110], [0, 240], [150, 240], [195, 40], [150, 40]]
    direction: [[170, 60], [20, 130]]       # towards the camera
    classes: [car, truck, bus, motorcycle, bicycle]
"""

DEMO = """\
camera: demo-crossing-01
kind: fixed
place: Demo street (composed from real photographs)
start_time: '2024-05-01T08:00:00+08:00'
timezone: Asia/Shanghai
frame_size: [640, 360]
zones:
- name: crosswalk_main
  kind: crosswalk
  polygon:
  - [290, 200]
  - [390, 200]
  - [390, 335]
  - [290, 335]
  classes: [person]
  signal: ped_main
  min_entry_distance: 25.0
- name: bike_lane
  kind: lane
  polygon:
  - [0, 300]
  - [640, 300]
  - [640, 335]
  - [0, 335]
  classes: [bicycle, motorcycle]
  direction:
  - [100, 317.5]
  - [540, 317.5]
- name: no_parking_busstop
  kind: no_parking
  polygon:
  - [392, 204]
  - [640, 204]
  - [640, 262]
  - [392, 262]
  classes: [car, truck, bus]
  max_stop_s: 10.0
  stationary_radius: 15.0
- name: plaza
  kind: no_litter
  polygon:
  - [0, 135]
  - [270, 135]
  - [270, 200]
  - [0, 200]
  min_static_s: 6.0
  min_area: 60.0
  max_area: 3000.0
signals:
- name: ped_main
  roi: [398, 100, 22, 46]
"""

OLDEST = {"beijing-overpass@1b49561": BEIJING_OVERPASS, "motorway-cctv@a10a4cf": MOTORWAY_CCTV,
          "demo-scene@a9781fb": DEMO}


@pytest.mark.parametrize("text", OLDEST.values(), ids=OLDEST.keys())
def test_the_oldest_sample_scenes_load_with_every_later_field_at_its_old_meaning(text):
    scene = load_scene_text(text, "old.yaml")
    assert scene.kind == "fixed" and scene.place and scene.place_names is None
    assert scene.calibration is None and scene.reference_image is None and scene.mosaic is None
    assert scene.slicing is None and resolve_slicing("auto", scene.kind, scene.slicing) is None  # no slicing then
    for zone in scene.zones:
        assert zone.label is None and scene.zone_label(zone.name, "en") is None  # the key is shown, as then
        if isinstance(zone, (LaneZone, NoParkingZone)):
            assert zone.trigger == "point"  # bottom-centre membership, the only one there was
        if isinstance(zone, LaneZone):
            assert (zone.window_s, zone.max_cosine) == (2.0, -0.5)
        if isinstance(zone, NoParkingZone):
            assert zone.gap_s == 8.0
    assert all(s.debounce_s == 0.5 for s in scene.signals)
    assert len(build_rules(scene)) == len(scene.zones)
    # every class these files list is still one their zones' rules can see
    assert zone_class_warnings(scene, COCO_NAMES) == []


def test_the_oldest_demo_scene_keeps_the_pixel_thresholds_it_gives():
    crossing, _lane, stop, _plaza = build_rules(load_scene_text(DEMO, "old.yaml"))
    assert crossing.entry_distance == 25.0 and stop.radius_px == 15.0
