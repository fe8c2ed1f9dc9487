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
