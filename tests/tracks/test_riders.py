"""Riders: a person riding on a two-wheeler's box, or moving at riding speed, is a rider."""

from __future__ import annotations

from collections import defaultdict

from detector.riders import RiderLinker, rides_on
from detector.types import TrackObservation


def run(observations):
    linker = RiderLinker()
    by_t = defaultdict(list)
    for o in observations:
        by_t[o.t].append(o)
    out = []
    for t in sorted(by_t):
        out += linker.update(by_t[t])
    return out


def test_rides_on_geometry():
    person = (100, 100, 140, 200)  # 100 px tall, feet at 200
    assert rides_on(person, (95, 150, 150, 210))  # motorbike under the lower body
    assert not rides_on(person, (200, 150, 260, 210))  # beside it
    assert not rides_on(person, (95, 205, 150, 300))  # a bike parked in front, below the feet
    assert not rides_on(person, (90, 95, 150, 205))  # a box as tall as the person: a car behind, not a saddle
    # One box named twice (Da Nang, 5 fps: CenterNet's "person" and "motorcycle" boxes of a rider
    # seen from the side, IoU 0.72-0.95): the person is on the machine.
    assert rides_on((763, 251, 816, 342), (758, 263, 812, 340))
    assert rides_on((793, 294, 853, 381), (791, 295, 856, 383))
    assert not rides_on((763, 251, 816, 342), (758, 263, 812, 390))  # bottoms apart: a bike in front


def test_person_on_a_motorbike_becomes_a_rider_carried_by_it():
    obs = []
    for i in range(10):
        t, x = round(i * 0.1, 1), 100 + 8 * i
        obs.append(TrackObservation(t, 1, "person", (x - 18, 100, x + 18, 200), 0.8))
        obs.append(TrackObservation(t, 2, "motorcycle", (x - 25, 150, x + 25, 212), 0.7))
    out = run(obs)
    people = [o for o in out if o.track_id == 1]
    assert people[0].class_name == "person"  # one sample is not yet a pairing
    assert all(o.class_name == "rider" and o.carried_by == 2 for o in people[1:])
    assert all(o.class_name == "motorcycle" for o in out if o.track_id == 2)


def test_fast_person_without_a_detected_vehicle_is_a_rider_and_a_walker_is_not():
    fast = [TrackObservation(round(i * 0.1, 1), 1, "person", (100 + 30 * i, 100, 140 + 30 * i, 200), 0.8) for i in range(15)]
    walk = [TrackObservation(round(i * 0.1, 1), 2, "person", (400 + 8 * i, 100, 440 + 8 * i, 200), 0.8) for i in range(15)]
    out = run(fast + walk)
    assert out[-1].class_name in {"person", "rider"}
    assert [o for o in out if o.track_id == 1][-1].class_name == "rider"  # 3 heights/s
    assert all(o.class_name == "person" for o in out if o.track_id == 2)  # 0.8 heights/s


def test_a_person_box_that_is_the_motorbikes_box_is_its_rider():
    """The Da Nang rider at 5 fps: the detector boxed rider and motorbike together as a person
    and as a motorcycle; the person stayed a walker and entered the crossing on red."""
    seen = [((793, 294, 853, 381), (791, 295, 856, 383)), ((782, 282, 836, 360), (779, 294, 848, 371)),
            ((774, 270, 827, 351), (769, 272, 824, 358)), ((763, 251, 816, 342), (758, 263, 812, 340))]
    obs = []
    for i, (person, moto) in enumerate(seen):
        t = round(0.2 + 0.2 * i, 1)
        obs.append(TrackObservation(t, 2, "person", person, 0.36))
        obs.append(TrackObservation(t, 3, "motorcycle", moto, 0.45))
    people = [o for o in run(obs) if o.track_id == 2]
    assert [o.class_name for o in people] == ["person", "person", "rider", "rider"]
    assert people[-1].carried_by == 3
