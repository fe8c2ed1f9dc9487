"""Illegal parking: a no-parking kerb strip from x=0 to x=640, y=100..200; limit 60 s."""

from __future__ import annotations

import pytest

from detector.rules import IllegalParkingRule
from detector.scene import NoParkingZone

from .scripting import drop, path, relabel, run, still

POLY = [(0, 100), (640, 100), (640, 200), (0, 200)]


def make_rule(**kw) -> IllegalParkingRule:
    return IllegalParkingRule(NoParkingZone(kind="no_parking", name="bus-stop", polygon=POLY, **kw))


def arrive_park_leave(tid: int, t_arrive: float, t_stop: float, t_go: float, t_gone: float, x: float = 300.0):
    """Drive in from the left, stand still at (x, 150), drive off to the right."""
    return path(tid, "car", [(t_arrive, -50.0, 150.0), (t_stop, x, 150.0), (t_go, x, 150.0), (t_gone, 700.0, 150.0)])


def test_car_parked_longer_than_the_limit_is_one_case_with_true_start_and_end():
    car = arrive_park_leave(4, 0.0, 5.0, 95.0, 100.0)
    events = run(make_rule(), car, t_end=110.0)
    assert len(events) == 1
    ev = events[0]
    assert ev.rule == "illegal_parking" and ev.zone == "bus-stop" and ev.object_class == "car"
    assert ev.track_ids == [4]
    assert ev.start_s == pytest.approx(5.0, abs=0.6)
    assert ev.end_s == pytest.approx(95.0, abs=0.6)
    assert ev.key_t == pytest.approx(ev.start_s + 60.0, abs=0.11)
    assert ev.details["dwell_s"] == pytest.approx(90.0, abs=1.0)
    assert "90" in ev.explanation and "bus-stop" in ev.explanation
    assert "禁停区 bus-stop" in ev.explanation_zh and "超过 60 秒限值" in ev.explanation_zh


def test_short_stop_is_fine():
    car = arrive_park_leave(1, 0.0, 5.0, 45.0, 50.0)
    assert run(make_rule(), car, t_end=60.0) == []


def test_id_switch_mid_parking_keeps_the_dwell_and_collects_both_ids():
    car = relabel(still(2, "car", 0.0, 90.0, 300.0, 150.0, jitter=3.0), 40.0, 22)
    events = run(make_rule(), car, t_end=100.0)
    assert len(events) == 1
    assert events[0].track_ids == [2, 22]
    assert events[0].start_s == pytest.approx(0.0)
    assert events[0].end_s == pytest.approx(90.0)


def test_occlusion_gap_with_new_id_does_not_restart_the_timer():
    # A bus hides the car from 35 s to 41 s; the tracker re-finds it under a new id.
    car = relabel(drop(still(3, "car", 0.0, 75.0, 300.0, 150.0, jitter=3.0, seed=2), 35.0, 41.0), 41.0, 33)
    events = run(make_rule(), car, t_end=80.0)
    assert len(events) == 1
    ev = events[0]
    assert ev.start_s == pytest.approx(0.0) and ev.end_s == pytest.approx(75.0)
    assert ev.track_ids == [3, 33]
    assert ev.details["longest_gap_s"] == pytest.approx(6.0, abs=0.11)
    assert ev.details["seen_fraction"] < 0.95


def test_gap_longer_than_gap_s_splits_the_stay():
    car = drop(still(5, "car", 0.0, 100.0, 300.0, 150.0), 40.0, 60.0)
    assert run(make_rule(gap_s=8.0), car, t_end=110.0) == []
    assert len(run(make_rule(gap_s=25.0), car, t_end=110.0)) == 1


def test_creeping_queue_is_not_parking():
    # Stops 20 s, creeps 30 px, stops 20 s, ... for 100 s in the zone, never parked.
    keys = [(0.0, 100.0, 150.0)]
    x, t = 100.0, 0.0
    for _ in range(5):
        keys.append((t + 20.0, x, 150.0))
        x, t = x + 30.0, t + 22.0
        keys.append((t, x, 150.0))
    car = path(6, "car", keys, jitter=2.0)
    assert run(make_rule(), car, t_end=keys[-1][0] + 1) == []


def test_slow_continuous_creep_is_not_parking():
    car = path(7, "car", [(0.0, 100.0, 150.0), (120.0, 400.0, 150.0)])  # 2.5 px/s
    assert run(make_rule(), car, t_end=121.0) == []


def test_queue_of_cars_stopping_at_the_same_spot_is_not_parking():
    # Five cars in turn stop 25 s at x=300 and drive off; the next rolls in 1.5 s later.
    cars = []
    t = 0.0
    for i in range(5):
        cars += arrive_park_leave(100 + i, t, t + 3.0, t + 28.0, t + 30.0)
        t += 29.5
    assert run(make_rule(), cars, t_end=t + 5.0) == []


def test_still_parked_at_the_end_of_the_video_is_raised_by_finish():
    car = arrive_park_leave(8, 0.0, 5.0, 200.0, 210.0)
    rule = make_rule()
    events = run(rule, [o for o in car if o.t <= 80.0], t_end=80.0)
    assert len(events) == 1
    assert events[0].end_s == pytest.approx(80.0)


def test_parked_outside_the_zone_is_fine():
    car = still(9, "car", 0.0, 100.0, 300.0, 260.0)
    assert run(make_rule(), car, t_end=110.0) == []


def test_people_are_not_vehicles():
    person = still(10, "person", 0.0, 100.0, 300.0, 150.0)
    assert run(make_rule(), person, t_end=110.0) == []


def test_two_cars_parked_side_by_side_are_two_cases():
    a = still(11, "car", 0.0, 80.0, 150.0, 150.0, jitter=3.0, seed=5)
    b = still(12, "car", 0.0, 80.0, 300.0, 150.0, jitter=3.0, seed=6)
    events = run(make_rule(), a + b, t_end=90.0)
    assert sorted(e.track_ids for e in events) == [[11], [12]]


def test_car_driving_past_a_parked_car_does_not_join_its_case():
    parked = still(13, "car", 0.0, 90.0, 300.0, 150.0)
    passing = path(14, "car", [(30.0, -50.0, 150.0), (35.0, 700.0, 150.0)])
    [ev] = run(make_rule(), parked + passing, t_end=100.0)
    assert ev.track_ids == [13]


def test_next_car_first_seen_where_a_departed_car_stood_does_not_inherit_its_stay():
    # Seen on the Beijing overpass footage: car 1 waits at the line 3 s and drives off (seen
    # driving away); car 2 is first detected at that very spot 4 s later and waits 4 s. Being
    # "born at the spot" looks like an id switch, but the first car was seen leaving, so the two
    # waits must not add up to one 11 s stay over the 5 s limit.
    first = path(1, "car", [(0.0, 300.0, 150.0), (3.0, 300.0, 150.0), (5.0, 600.0, 150.0)])
    second = path(2, "car", [(7.0, 302.0, 151.0), (11.0, 302.0, 151.0), (13.0, 640.0, 151.0)])
    assert run(make_rule(max_stop_s=5.0), first + second, t_end=14.0) == []
    # Without the departure being seen (car 1 simply vanishes), car 2 is an id switch: one stay.
    vanished = [o for o in first if o.t <= 3.0]
    events = run(make_rule(max_stop_s=5.0), vanished + second, t_end=14.0)
    assert len(events) == 1 and events[0].track_ids == [1, 2]


def test_explanations_name_a_labelled_zone_by_its_label_in_each_language():
    rule = make_rule(label={"zh-CN": "公交站台", "en": "the bus stop"})
    (ev,) = run(rule, arrive_park_leave(4, 0.0, 5.0, 95.0, 100.0), t_end=110.0)
    assert ev.zone == "bus-stop"  # the key still identifies the zone
    assert "stood in the bus stop for" in ev.explanation and "bus-stop" not in ev.explanation
    assert "禁停区 公交站台 停留" in ev.explanation_zh and "bus-stop" not in ev.explanation_zh
