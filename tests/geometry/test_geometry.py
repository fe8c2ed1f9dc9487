"""Ground calibration, object-size scale, footprints, and scene files old and new."""

from __future__ import annotations

import pytest

from detector.geometry import GroundCalibration, Ruler, ZoneDepth, footprint_overlap
from detector.rules import build_rules
from detector.scene import SceneError, load_scene_text
from shapely.geometry import Polygon

# A road seen in perspective: a 10 m x 20 m rectangle on the ground appears as a trapezoid.
IMAGE = [(200, 400), (600, 400), (500, 100), (300, 100)]
GROUND = [(0, 0), (10, 0), (10, 20), (0, 20)]


def test_calibration_maps_image_points_to_metres():
    cal = GroundCalibration.from_points(IMAGE, GROUND)
    for (x, y), (gx, gy) in zip(IMAGE, GROUND):
        assert cal.to_ground((x, y)) == pytest.approx((gx, gy), abs=1e-6)
    ruler = Ruler(cal)
    # The far edge is 200 px wide, the near one 400 px: both are 10 m.
    assert ruler.distance_m((300, 100), (500, 100), (0, 0, 1, 1), "car") == pytest.approx(10.0, abs=1e-6)
    assert ruler.distance_m((200, 400), (600, 400), (0, 0, 1, 1), "car") == pytest.approx(10.0, abs=1e-6)


def test_degenerate_calibration_is_refused():
    with pytest.raises(ValueError, match="plane"):
        GroundCalibration.from_points([(0, 0), (1, 1), (2, 2), (3, 3)], GROUND)


def test_without_calibration_a_walker_box_sets_the_scale():
    # 85 px tall walker: 50 px per metre, so 100 px is 2 m for them and 10 m for a 17 px one far away.
    assert Ruler().distance_m((0, 0), (100, 0), (0, 0, 30, 85), "person") == pytest.approx(2.0)
    assert Ruler().distance_m((0, 0), (100, 0), (0, 0, 6, 17), "person") == pytest.approx(10.0)


def test_depth_in_metres_through_the_calibration():
    depth = ZoneDepth(IMAGE, Ruler(GroundCalibration.from_points(IMAGE, GROUND)))
    assert depth.depth_m((400, 250), (0, 0, 1, 1), "person") > 4.0  # mid-zone: ~5 m from the sides
    assert depth.depth_m((100, 250), (0, 0, 1, 1), "person") < 0


def test_footprint_overlap_counts_the_bottom_band():
    zone = Polygon([(0, 0), (100, 0), (100, 100), (0, 100)])
    assert footprint_overlap(zone, (50, 20, 150, 100)) == pytest.approx(0.5)
    assert footprint_overlap(zone, (50, 200, 150, 300)) == 0.0


OLD = """
camera: c
frame_size: [640, 480]
zones:
  - {name: cw, kind: crosswalk, polygon: [[0, 200], [640, 200], [640, 300], [0, 300]], signal: s, min_entry_distance: 25}
  - {name: lane, kind: lane, polygon: [[0, 0], [640, 0], [640, 200], [0, 200]], direction: [[0, 100], [600, 100]], min_distance: 40}
  - {name: kerb, kind: no_parking, polygon: [[0, 300], [640, 300], [640, 480], [0, 480]], stationary_radius: 15}
signals: [{name: s, timeline: [[0, red]]}]
"""


def test_scene_files_of_the_earlier_version_keep_their_pixel_thresholds():
    scene = load_scene_text(OLD)
    cw, lane, kerb = build_rules(scene)[:3]
    assert cw.entry_distance == 25 and lane.zone.min_distance == 40 and kerb.radius_px == 15


def test_new_scene_fields_calibration_and_triggers():
    text = OLD.replace("min_entry_distance: 25", "min_entry_depth_m: 0.8").replace(
        "stationary_radius: 15", "stationary_radius_m: 0.5, trigger: footprint, min_overlap: 0.4")
    text += "calibration:\n  image: [[200, 400], [600, 400], [500, 100], [300, 100]]\n  ground: [[0, 0], [10, 0], [10, 20], [0, 20]]\n"
    scene = load_scene_text(text)
    rules = build_rules(scene)
    assert rules[0].entry_distance is None and rules[0].ruler.calibrated
    assert rules[2].zone.trigger == "footprint" and rules[2].radius_px is None


def test_malformed_calibration_names_the_field():
    bad = OLD + "calibration: {image: [[0, 0], [1, 0], [1, 1], [0, 1]], ground: [[0, 0], [1, 0], [1, 1]]}\n"
    with pytest.raises(SceneError, match="calibration"):
        load_scene_text(bad)
    with pytest.raises(SceneError, match="trigger"):
        load_scene_text(OLD.replace("stationary_radius: 15", "trigger: box"))


def test_depth_ignores_zone_edges_on_the_frame_border():
    # A zone drawn down to the bottom of a 848x478 frame: the bottom edge is the picture's, no kerb.
    poly = [(610, 345), (848, 335), (848, 478), (610, 478)]
    on_border = ZoneDepth(poly, Ruler(), frame_size=(848, 478))
    plain = ZoneDepth(poly, Ruler())
    feet = (731, 470)  # 8 px above the frame's bottom, 121 px from the zone's left edge
    assert plain.depth_px(feet) == pytest.approx(8, abs=0.5)
    assert on_border.depth_px(feet) > 100
