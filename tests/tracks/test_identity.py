"""Identity guard: an id handed from one object to another is split; a walker's fragments are joined."""

from __future__ import annotations

from collections import defaultdict

from detector.identity import IdentityGuard
from detector.types import TrackObservation


def box_at(x, y, w, h):
    return (x - w / 2, y - h, x + w / 2, y)


def feed(guard, observations):
    by_t = defaultdict(list)
    for o in observations:
        by_t[o.t].append(o)
    out = []
    for t in sorted(by_t):
        out += guard.update(t, by_t[t])
    return out


def test_bus_leaving_then_car_behind_under_the_same_tracker_id_is_split():
    # Tracker id 5: a bus (200 px tall) moving down the frame, then at t=1.0 the same id jumps to
    # the car behind it (80 px tall, 150 px higher up): the "motion" would point up the lane.
    obs = [TrackObservation(round(i * 0.1, 1), 5, "bus", box_at(400, 450 + 10 * i, 180, 200), 0.8) for i in range(10)]
    obs += [TrackObservation(round(1.0 + i * 0.1, 1), 5, "car", box_at(400, 300 + 8 * i, 100, 80), 0.8) for i in range(10)]
    out = feed(IdentityGuard(), obs)
    bus_ids = {o.track_id for o in out if o.t < 1.0}
    car_ids = {o.track_id for o in out if o.t >= 1.0}
    assert len(bus_ids) == 1 and len(car_ids) == 1 and bus_ids != car_ids
    assert all(o.class_name == "car" for o in out if o.t >= 1.0)  # not "bus" drawn on the car


def test_class_is_the_confidence_weighted_majority():
    names = ["car", "car", "truck", "car", "truck", "car"]
    obs = [TrackObservation(i * 0.1, 1, n, box_at(100 + 5 * i, 300, 100, 70), 0.9 if n == "car" else 0.4)
           for i, n in enumerate(names)]
    out = feed(IdentityGuard(), obs)
    assert {o.track_id for o in out} == {1}
    assert [o.class_name for o in out][2:] == ["car"] * 4


def test_class_family_change_splits_the_track():
    obs = [TrackObservation(round(i * 0.1, 1), 3, "car", box_at(300 + 3 * i, 300, 60, 50), 0.8) for i in range(8)]
    obs += [TrackObservation(round(0.8 + i * 0.1, 1), 3, "person", box_at(324 + 3 * i, 300, 30, 50), 0.8) for i in range(6)]
    out = feed(IdentityGuard(), obs)
    assert len({o.track_id for o in out if o.class_name == "person"} & {o.track_id for o in out if o.class_name == "car"}) == 0


def test_walker_lost_and_refound_nearby_keeps_one_id():
    walk = lambda tid, t0, n: [TrackObservation(round(t0 + i * 0.1, 1), tid, "person",  # noqa: E731
                                                box_at(250, 400 - 40 * (t0 + i * 0.1), 30, 80), 0.8) for i in range(n)]
    out = feed(IdentityGuard(), walk(1, 0.0, 20) + walk(9, 2.8, 20))  # hidden 2.0..2.7 s, new tracker id
    assert {o.track_id for o in out} == {1}


def test_a_different_person_appearing_elsewhere_is_not_joined():
    a = [TrackObservation(round(i * 0.1, 1), 1, "person", box_at(250, 400 - 4 * i, 30, 80), 0.8) for i in range(10)]
    b = [TrackObservation(round(1.5 + i * 0.1, 1), 2, "person", box_at(600, 300, 30, 80), 0.8) for i in range(10)]
    out = feed(IdentityGuard(), a + b)
    assert len({o.track_id for o in out}) == 2
