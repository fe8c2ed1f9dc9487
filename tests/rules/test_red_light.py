"""Red-light pedestrians: entering on red is an offence; being on the crossing during red is not.

The crosswalk runs from the near kerb (y=400) to the far kerb (y=100) between x=200 and x=300;
pedestrians cross upwards along x=250.
"""

from __future__ import annotations

import pytest

from detector.rules import RedLightPedestrianRule
from detector.scene import CrosswalkZone

from .scripting import drop, obs_at, path, relabel, run, still, timeline

POLY = [(200, 100), (300, 100), (300, 400), (200, 400)]


def make_rule(**kw) -> RedLightPedestrianRule:
    return RedLightPedestrianRule(
        CrosswalkZone(kind="crosswalk", name="main-crosswalk", polygon=POLY, signal="ped-main", **kw)
    )


RED_AT_10 = timeline([(0.0, "green"), (10.0, "red"), (40.0, "green")], "ped-main")


def crossing(tid: int, t0: float, duration: float = 8.0, x: float = 250.0) -> list:
    """Walk from the near pavement (y=440) over the crossing to the far pavement (y=60)."""
    return path(tid, "person", [(t0, x, 440.0), (t0 + duration, x, 60.0)])


def test_entering_on_red_raises_one_case_with_entry_to_exit_span():
    # Reaches the kerb line (y=400) at 12.0 + 40/380*8 ~= 12.84 s, 2.8 s after red.
    events = run(make_rule(), crossing(7, 12.0), t_end=30.0, signals=RED_AT_10)
    assert len(events) == 1
    ev = events[0]
    assert ev.rule == "red_light_pedestrian" and ev.zone == "main-crosswalk"
    assert ev.signal == "ped-main" and ev.track_ids == [7] and ev.object_class == "person"
    assert 12.7 <= ev.start_s <= 13.0
    assert 19.0 <= ev.end_s <= 19.3  # last sample inside before y < 100
    assert ev.start_s < ev.key_t < ev.end_s
    assert "person #7" in ev.explanation and "after ped-main turned red" in ev.explanation
    assert "行人 #7" in ev.explanation_zh and "已转红" in ev.explanation_zh
    assert f"{ev.details['after_red_s']:.1f} s after" in ev.explanation
    assert ev.details["red_since"] == pytest.approx(10.0)
    # The key box is the offender's box at key_t and its ground point is inside the crossing.
    x1, _, x2, y2 = ev.key_box
    assert 200 < (x1 + x2) / 2 < 300 and 100 < y2 < 400
    assert ev.path[0][0] == pytest.approx(ev.start_s) and ev.path[-1][0] == pytest.approx(ev.end_s)
    assert all(ev.start_s <= t <= ev.end_s for t, _, _ in ev.path)


def test_reported_delay_matches_when_the_light_turned_red():
    # Standing on the pavement, is on the kerb line at 12.4 s: 2.4 s after red.
    walker = still(3, "person", 5.0, 12.3, 250.0, 410.0) + path(
        3, "person", [(12.4, 250.0, 400.0), (16.0, 250.0, 60.0)]
    )
    [ev] = run(make_rule(), walker, t_end=20.0, signals=RED_AT_10)
    assert "2.4 s after ped-main turned red" in ev.explanation
    assert ev.start_s == pytest.approx(12.4)


def test_crossing_on_green_is_fine():
    assert run(make_rule(), crossing(1, 1.0), t_end=12.0, signals=RED_AT_10) == []


def test_already_crossing_when_it_turned_red_is_not_flagged():
    # Enters at ~7 s (green), is mid-way when red comes at 10 s, leaves at ~15 s.
    assert run(make_rule(), crossing(2, 6.5, duration=10.0), t_end=25.0, signals=RED_AT_10) == []


def test_waiting_at_the_kerb_with_toes_over_the_line_is_not_flagged():
    # Hovers at y 390..404 (up to 10 px inside) for the whole red phase, jittering.
    waiter = still(4, "person", 8.0, 39.0, 250.0, 397.0, jitter=7.0, seed=3)
    assert run(make_rule(), waiter, t_end=45.0, signals=RED_AT_10) == []
    # ... and then crossing when it turns green is still fine.
    waiter += crossing(4, 40.5)
    assert run(make_rule(), waiter, t_end=55.0, signals=RED_AT_10) == []


def test_waiting_in_the_kerb_band_then_walking_in_on_red_is_flagged():
    # Toes over the line since before red; steps off into the crossing at 20 s (red).
    walker = still(5, "person", 8.0, 20.0, 250.0, 395.0) + path(5, "person", [(20.1, 250.0, 390.0), (24.0, 250.0, 60.0)])
    [ev] = run(make_rule(), walker, t_end=30.0, signals=RED_AT_10)
    assert ev.start_s == pytest.approx(20.0)
    assert "10.0 s after" in ev.explanation


@pytest.mark.parametrize("seed", range(6))
def test_a_jittery_walker_who_stepped_in_on_green_is_not_flagged(seed):
    # Over the kerb line at 9.6 s (green), slowly (0.65 m/s), the ground point jittering by 8 px
    # (a third of the entry depth): the crossing is confirmed after red came at 10 s. The entry
    # used to be walked back only while each sample was shallower, which stopped at the first
    # jitter, after 10 s: a case against someone who stepped off on green.
    walker = path(7, "person", [(8.0, 250.0, 449.0), (20.0, 250.0, 79.0)], jitter=8.0, seed=seed)
    assert run(make_rule(), walker, t_end=30.0, signals=RED_AT_10) == []


@pytest.mark.parametrize("seed", range(3))
def test_a_jittery_walker_who_stepped_in_on_red_enters_at_the_kerb_line(seed):
    walker = path(7, "person", [(12.0, 250.0, 449.0), (24.0, 250.0, 79.0)], jitter=8.0, seed=seed)
    [ev] = run(make_rule(), walker, t_end=30.0, signals=RED_AT_10)
    assert 13.4 <= ev.start_s <= 14.0  # over the line at 13.6 s, give or take a jittered sample


def test_walking_along_the_kerb_is_not_flagged():
    # Along the near kerb through the corner of the crosswalk polygon, 5..10 px inside it.
    along = path(6, "person", [(12.0, 120.0, 392.0), (20.0, 380.0, 395.0)], jitter=3.0, seed=1)
    assert run(make_rule(), along, t_end=25.0, signals=RED_AT_10) == []


def test_track_first_seen_deep_inside_is_not_judged():
    # Appears mid-crossing during red (no observed entry) and walks off the far side.
    mid = path(8, "person", [(15.0, 250.0, 250.0), (18.0, 250.0, 60.0)])
    assert run(make_rule(), mid, t_end=25.0, signals=RED_AT_10) == []


def test_id_switch_mid_crossing_gives_one_case():
    walker = relabel(crossing(9, 12.0), 16.0, 90)
    events = run(make_rule(), walker, t_end=30.0, signals=RED_AT_10)
    assert len(events) == 1 and events[0].track_ids == [9]


def test_short_dropout_mid_crossing_does_not_split_the_case():
    walker = drop(crossing(11, 12.0), 15.0, 16.0)
    events = run(make_rule(), walker, t_end=30.0, signals=RED_AT_10)
    assert len(events) == 1
    assert events[0].end_s > 18.0


def test_grace_period_forgives_entries_just_after_red():
    early = crossing(12, 10.0 - 40 / 380 * 8 + 0.5)  # reaches the line 0.5 s after red
    late = crossing(13, 10.0 - 40 / 380 * 8 + 2.0)  # 2 s after red
    events = run(make_rule(grace_s=1.0), early + late, t_end=30.0, signals=RED_AT_10)
    assert [e.track_ids for e in events] == [[13]]
    # Without grace both are offences.
    events = run(make_rule(), early + late, t_end=30.0, signals=RED_AT_10)
    assert sorted(e.track_ids[0] for e in events) == [12, 13]


def test_one_sample_red_flicker_at_the_entry_raises_nothing():
    # The signal source glitches to red for one sample exactly when the walker steps in.
    entry_t = round(12.0 + 40 / 380 * 8, 1)
    blip = timeline([(0.0, "green"), (entry_t, "red"), (entry_t + 0.1, "green")], "ped-main")
    assert run(make_rule(), crossing(14, 12.0), t_end=25.0, signals=blip) == []


def test_single_deep_jitter_sample_while_waiting_is_not_an_entry():
    waiter = still(15, "person", 11.0, 25.0, 250.0, 405.0)
    waiter = [o if o.t != 18.0 else obs_at(18.0, 15, "person", 250.0, 360.0) for o in waiter]
    assert run(make_rule(), waiter, t_end=30.0, signals=RED_AT_10) == []


def test_red_since_before_the_video_started_is_said_so():
    always_red = timeline([(0.0, "red")], "ped-main")
    [ev] = run(make_rule(), crossing(16, 3.0), t_end=15.0, signals=always_red)
    assert "since before the video began" in ev.explanation
    assert ev.details["red_since_observed"] is False


def test_unknown_signal_never_flags():
    unknown = timeline([(0.0, "unknown")], "ped-main")
    assert run(make_rule(), crossing(17, 3.0), t_end=15.0, signals=unknown) == []


def test_crossing_twice_gives_two_cases():
    there = crossing(18, 12.0)
    back = path(18, "person", [(22.0, 250.0, 60.0), (30.0, 250.0, 440.0)])
    events = run(make_rule(), there + back, t_end=35.0, signals=RED_AT_10)
    assert len(events) == 2


def test_other_classes_are_ignored():
    cyclist = path(19, "bicycle", [(12.0, 250.0, 440.0), (16.0, 250.0, 60.0)])
    assert run(make_rule(), cyclist, t_end=20.0, signals=RED_AT_10) == []


def test_track_lost_mid_crossing_closes_at_last_sighting():
    walker = [o for o in crossing(20, 12.0) if o.t <= 16.0]
    [ev] = run(make_rule(), walker, t_end=30.0, signals=RED_AT_10)
    assert ev.end_s == pytest.approx(16.0)


def stretched(observations: list, t0: float, t1: float, *, bottom: float = 0.0, top: float = 0.0) -> list:
    """The detector's box for [t0, t1) reaches ``bottom`` px lower and ``top`` px higher."""
    from detector.types import TrackObservation

    return [
        TrackObservation(o.t, o.track_id, o.class_name, (o.box[0], o.box[1] - top, o.box[2], o.box[3] + bottom),
                         o.confidence) if t0 <= o.t < t1 else o
        for o in observations
    ]


def test_a_box_stretched_downwards_for_a_moment_does_not_walk_the_feet_onto_the_crossing():
    # Waiting on the far pavement 8 px short of the kerb line (y=100) during red; for 0.3 s a
    # weak detection merged with what lies below stretches the box 60 px down while the head
    # stays put (New York zebra, detector threshold 0.2).
    waiter = still(9, "person", 11.0, 16.0, 250.0, 92.0)
    assert run(make_rule(), stretched(waiter, 13.0, 13.3, bottom=60.0), t_end=20.0, signals=RED_AT_10) == []


def test_a_box_stretched_upwards_keeps_its_feet():
    # The head end of the box jumps (someone taller behind) while the walker steps in on red:
    # the bottom edge is still where the feet are, and the entry is seen.
    walker = still(5, "person", 8.0, 20.0, 250.0, 410.0) + path(5, "person", [(20.1, 250.0, 400.0), (24.0, 250.0, 60.0)])
    [ev] = run(make_rule(), stretched(walker, 20.0, 21.0, top=50.0), t_end=30.0, signals=RED_AT_10)
    assert ev.start_s == pytest.approx(20.1, abs=0.15)


def test_a_walker_growing_steadily_towards_the_camera_is_judged_on_its_own_feet():
    # Walking towards the camera from the far pavement, the box doubling in height over the
    # crossing: the steady ground point follows a height that changes this gradually.
    from detector.types import TrackObservation

    walk = path(4, "person", [(12.0, 250.0, 60.0), (20.0, 250.0, 440.0)])
    grown = []
    for o in walk:
        x1, y1, x2, y2 = o.box
        h = 80.0 * (1.0 + (o.t - 12.0) / 8.0)
        grown.append(TrackObservation(o.t, o.track_id, o.class_name, (x1, y2 - h, x2, y2), o.confidence))
    [ev] = run(make_rule(), grown, t_end=25.0, signals=RED_AT_10)
    assert 12.4 <= ev.start_s <= 13.2 and 19.0 <= ev.end_s <= 19.5
