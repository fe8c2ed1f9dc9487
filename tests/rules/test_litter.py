"""Litter: static objects from the background model inside the 'square' zone (0..640, 200..480)."""

from __future__ import annotations

import pytest

from detector.rules import LitterRule
from detector.scene import NoLitterZone
from detector.types import StaticObject, TrackObservation

from .scripting import path, run, still, tq

POLY = [(0, 200), (640, 200), (640, 480), (0, 480)]
OBJ_BOX = (300.0, 390.0, 320.0, 400.0)


def make_rule(**kw) -> LitterRule:
    return LitterRule(NoLitterZone(kind="no_litter", name="square", polygon=POLY, **kw))


def static_object(first_seen: float, static_since: float, gone: float, box=OBJ_BOX, label="object", oid=1):
    """The background model's report: present from first_seen until it disappears at ``gone``."""

    def at(t: float) -> tuple[StaticObject, ...]:
        if first_seen <= t < gone:
            return (StaticObject(oid, box, first_seen, static_since, t, label, 0.7),)
        return ()

    return at


def dropper(tid: int = 7):
    """Walks in, stops beside the spot 10..12.5 s, walks away."""
    return path(tid, "person", [(5.0, 100.0, 420.0), (10.0, 330.0, 400.0), (12.5, 330.0, 400.0), (18.0, 620.0, 300.0)])


def test_object_left_by_a_person_is_linked_to_that_person():
    events = run(make_rule(), dropper(7), t_end=40.0, static=static_object(12.3, 13.0, 30.0))
    assert len(events) == 1
    ev = events[0]
    assert ev.rule == "litter" and ev.zone == "square" and ev.track_ids == [7]
    assert "by person #7 at 12.3 s" in ev.explanation
    assert "stayed 17.6 s" in ev.explanation  # last_seen 29.9 - first_seen 12.3
    assert "行人 #7" in ev.explanation_zh and "遗留" in ev.explanation_zh
    assert ev.end_s == pytest.approx(29.9)
    assert ev.start_s <= 12.3
    assert ev.details["object_box"] == list(OBJ_BOX)
    assert ev.path and all(7.3 <= t <= 14.3 for t, _, _ in ev.path)


def test_nearest_person_is_chosen():
    far = path(8, "person", [(8.0, 100.0, 300.0), (14.0, 120.0, 300.0)])
    events = run(make_rule(), dropper(7) + far, t_end=40.0, static=static_object(12.3, 13.0, 30.0))
    assert [e.track_ids for e in events] == [[7]]


def test_object_nobody_was_near_is_reported_without_a_person():
    far = path(8, "person", [(8.0, 100.0, 250.0), (14.0, 120.0, 250.0)])
    [ev] = run(make_rule(), far, t_end=40.0, static=static_object(12.3, 13.0, 30.0))
    assert ev.track_ids == [] and "nobody was seen leaving it" in ev.explanation


def test_object_picked_up_before_min_static_s_is_fine():
    assert run(make_rule(), dropper(), t_end=40.0, static=static_object(12.3, 13.0, 20.0)) == []


def test_still_there_at_the_end_is_raised_by_finish():
    [ev] = run(make_rule(), dropper(), t_end=40.0, static=static_object(12.3, 13.0, 99.0))
    assert ev.end_s == pytest.approx(40.0)


def test_person_and_vehicle_labels_are_not_litter():
    for label in ("person", "car"):
        assert run(make_rule(), [], t_end=40.0, static=static_object(1.0, 2.0, 99.0, label=label)) == []


def test_object_outside_the_zone_is_fine():
    box = (300.0, 90.0, 320.0, 100.0)
    assert run(make_rule(), dropper(), t_end=40.0, static=static_object(12.3, 13.0, 99.0, box=box)) == []


def test_object_under_a_standing_person_is_not_raised_while_covered():
    # The person stands right over the "object" for the whole video (a still person the
    # background model failed to mask): never raised.
    box = (320.0, 380.0, 340.0, 400.0)
    person = still(9, "person", 0.0, 40.0, 330.0, 400.0)
    assert run(make_rule(), person, t_end=40.0, static=static_object(1.0, 2.0, 99.0, box=box)) == []


def test_min_static_s_is_respected():
    static = static_object(12.3, 13.0, 30.0)
    assert run(make_rule(min_static_s=20.0), dropper(), t_end=40.0, static=static) == []
    assert len(run(make_rule(min_static_s=15.0), dropper(), t_end=40.0, static=static)) == 1


def _scaled_dropper(tid: int, height: float, gap: float):
    """A person ``height`` px tall standing ``gap`` px left of the object around the drop."""
    x2 = OBJ_BOX[0] - gap
    return [TrackObservation(tq(t), tid, "person", (x2 - height * 0.4, 400.0 - height, x2, 400.0), 0.8)
            for t in (11.5, 12.0, 12.3, 12.5)]


def test_who_left_it_is_judged_by_the_person_s_size_not_a_fixed_pixel_gap():
    # A 4K-like view: a person 300 px tall, her box 100 px from the bag, is within reach of it.
    [near] = run(make_rule(), _scaled_dropper(21, 300.0, 100.0), t_end=40.0, static=static_object(12.3, 13.0, 30.0))
    assert near.track_ids == [21]
    # A 320x240 camera: a person 20 px tall, 50 px (two and a half of her heights) from it, is not.
    [far] = run(make_rule(), _scaled_dropper(22, 20.0, 50.0), t_end=40.0, static=static_object(12.3, 13.0, 30.0))
    assert far.track_ids == [] and "nobody was seen leaving it" in far.explanation
