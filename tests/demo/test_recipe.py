"""The recipe, the committed scene/ground truth, and the planted events agree with each other."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from civicwatch.demo import GROUND_TRUTH_PATH, SCENE_PATH
from civicwatch.demo.compose import actor_state
from civicwatch.demo.recipe import load_recipe
from civicwatch.demo.scene_files import ground_truth_text, scene_text
from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, load_scene

import yaml

RULE_ZONE_KIND = {
    "red_light_pedestrian": CrosswalkZone,
    "wrong_way": LaneZone,
    "illegal_parking": NoParkingZone,
    "litter": NoLitterZone,
}


@pytest.fixture(scope="module")
def recipe():
    return load_recipe()


@pytest.fixture(scope="module")
def scene():
    return load_scene(SCENE_PATH)


def test_committed_scene_and_ground_truth_match_the_recipe(recipe):
    assert SCENE_PATH.read_text(encoding="utf-8") == scene_text(recipe), "run `civicwatch demo build --write-sources`"
    assert GROUND_TRUTH_PATH.read_text(encoding="utf-8") == ground_truth_text(recipe)


def test_scene_validates_and_fits_the_video(recipe, scene):
    assert tuple(scene.frame_size) == tuple(recipe.video.size)
    assert scene.start_time is not None and scene.start_time.utcoffset() is not None
    assert scene.timezone == "Asia/Shanghai"
    (signal,) = scene.signals
    x, y, w, h = signal.roi
    assert 0 <= x and 0 <= y and x + w <= scene.frame_size[0] and y + h <= scene.frame_size[1]
    crosswalks = [z for z in scene.zones if isinstance(z, CrosswalkZone)]
    assert crosswalks and all(z.signal == signal.name for z in crosswalks)


def test_ground_truth_refers_to_zones_of_the_right_kind(recipe, scene):
    truth = yaml.safe_load(GROUND_TRUTH_PATH.read_text(encoding="utf-8"))
    events = truth["violations"] + truth["negatives"]
    assert {e["rule"] for e in truth["violations"]} == set(RULE_ZONE_KIND)
    for e in events:
        zone = scene.zone(e["zone"])  # StopIteration when the zone does not exist
        assert isinstance(zone, RULE_ZONE_KIND[e["rule"]]), e
        assert 0 <= e["start_s"] < e["end_s"] <= recipe.video.duration_s, e
        assert e["actor"] in recipe.actors


def _ground_track(recipe, actor_name: str, step: float = 0.05):
    actor = recipe.actors[actor_name]
    t0, t1 = actor.path[0][0], actor.path[-1][0]
    ts = np.linspace(t0, t1, int(round((t1 - t0) / step)) + 1)
    return [(float(t), *actor_state(actor, float(t))[:2]) for t in ts]


def _entry_time(track, poly: Polygon, depth: float) -> float | None:
    """First time the ground point is inside the crossing by more than ``depth`` px."""
    for t, x, y in track:
        p = Point(x, y)
        if poly.contains(p) and poly.exterior.distance(p) >= depth:
            return t
    return None


def test_red_light_entries_happen_on_the_planted_lamp_colour(recipe, scene):
    truth = recipe.events
    for e, expect in [(e, "red") for e in truth.violations] + [(e, "green") for e in truth.negatives]:
        if e.rule != "red_light_pedestrian":
            continue
        zone = scene.zone(e.zone)
        track = _ground_track(recipe, e.actor)
        t_in = _entry_time(track, Polygon(zone.polygon), zone.min_entry_distance)
        if expect == "green" and t_in is None:
            continue
        assert t_in is not None, f"{e.actor} never enters {e.zone}"
        assert recipe.signal.color_at(t_in) == expect, (e.actor, t_in)
        assert abs(t_in - e.start_s) < 1.0 or expect == "green", (e.actor, t_in, e.start_s)


def test_the_waiting_pedestrian_stays_out_of_the_crossing_during_red(recipe, scene):
    zone = scene.zone("crosswalk_main")
    poly = Polygon(zone.polygon)
    for t, x, y in _ground_track(recipe, "ped_waits_on_red"):
        if recipe.signal.color_at(t) == "red":
            p = Point(x, y)
            assert not (poly.contains(p) and poly.exterior.distance(p) >= zone.min_entry_distance), t


def test_bike_directions_against_the_lane_arrows(recipe, scene):
    lane = scene.zone("bike_lane")
    (x1, y1), (x2, y2) = lane.direction
    legal = np.array([x2 - x1, y2 - y1], float)
    for e in recipe.events.violations + recipe.events.negatives:
        if e.rule != "wrong_way":
            continue
        path = recipe.actors[e.actor].path
        travel = np.array([path[-1][1] - path[0][1], path[-1][2] - path[0][2]], float)
        cosine = float(travel @ legal / np.linalg.norm(travel) / np.linalg.norm(legal))
        is_violation = e in recipe.events.violations
        assert (cosine < lane.max_cosine) == is_violation, (e.actor, cosine)


def _stopped_in_zone_s(recipe, actor_name: str, poly: Polygon, radius: float) -> float:
    track = _ground_track(recipe, actor_name)
    best, start = 0.0, None
    for t, x, y in track:
        if poly.contains(Point(x, y)):
            if start is None or np.hypot(x - start[1], y - start[2]) > radius:
                start = (t, x, y)
            best = max(best, t - start[0])
        else:
            start = None
    return best


def test_parking_durations_either_side_of_max_stop(recipe, scene):
    zone = scene.zone("no_parking_busstop")
    poly = Polygon(zone.polygon)
    for e in recipe.events.violations + recipe.events.negatives:
        if e.rule != "illegal_parking":
            continue
        stopped = _stopped_in_zone_s(recipe, e.actor, poly, zone.stationary_radius)
        if e in recipe.events.violations:
            assert stopped > zone.max_stop_s + 5, stopped
        else:
            assert 0 < stopped < zone.max_stop_s - 2, stopped


def test_litter_lands_in_the_plaza_and_stays_long_enough(recipe, scene):
    zone = scene.zone("plaza")
    (prop,) = recipe.props.values()
    assert Polygon(zone.polygon).contains(Point(*prop.rest))
    assert recipe.video.duration_s - (prop.drop_t + prop.fall_s) > zone.min_static_s + 3
    (litter,) = [e for e in recipe.events.violations if e.rule == "litter"]
    assert litter.actor == prop.actor and abs(litter.start_s - prop.drop_t) < 0.5
