"""TrackLog / SignalLog: the full-rate clip sees the latest recent analysis result."""

from __future__ import annotations

import json
import pickle

import pytest

from detector.evidence import SignalLog, TrackLog
from detector.types import SignalColor, TrackObservation


def obs(t, tid=1, x=0.0):
    return TrackObservation(t, tid, "person", (x, 0.0, x + 10, 20.0), 0.9)


def test_lookup_uses_latest_instant_within_one_and_a_half_intervals():
    log = TrackLog()
    for t in (0.0, 0.1, 0.2):
        log.add(t, [obs(t, x=t * 100)])
    log.add(0.3, [])  # analysed, nothing there
    assert log.interval() == pytest.approx(0.1)
    assert log.at(-0.01) == ()
    assert log.at(0.0)[0].t == 0.0
    assert log.at(0.133)[0].t == 0.1  # between instants: the earlier one, never the future
    assert log.at(0.3) == ()  # nothing at the latest instant: nothing drawn
    assert log.at(0.2 + 0.14)  == ()
    lone = TrackLog()
    lone.add(0.0, [obs(0.0)])
    lone.add(1.0, [obs(1.0)])
    assert lone.at(1.4)[0].t == 1.0
    assert lone.at(2.6) == ()  # older than 1.5 intervals: stale


def test_track_filters_ids_and_time():
    log = TrackLog()
    for i in range(10):
        t = i * 0.1
        log.add(t, [obs(t, 1), obs(t, 2)])
    got = log.track([2], 0.3, 0.6)
    assert [round(o.t, 1) for o in got] == [0.3, 0.4, 0.5, 0.6]
    assert {o.track_id for o in got} == {2}


def test_out_of_order_instants_are_kept_in_time_order():
    """AVI files with packed B-frames deliver timestamps out of order; the log must not care."""
    log = TrackLog()
    log.add(1.0, [obs(1.0)])
    log.add(0.5, [obs(0.5)])
    log.add(1.0, [obs(1.0, 2)])
    assert log.times == [0.5, 1.0]
    assert log.at(0.7)[0].t == 0.5
    assert {o.track_id for o in log.at(1.0)} == {1, 2}
    signals = SignalLog()
    signals.add(2.0, {"a": SignalColor.RED})
    signals.add(1.0, {"a": SignalColor.GREEN})
    assert signals.at(1.5) == {"a": SignalColor.GREEN} and signals.at(2.0) == {"a": SignalColor.RED}


def test_logs_round_trip_through_json_and_pickle():
    tracks, signals = TrackLog(), SignalLog()
    tracks.add(0.0, [obs(0.0, 4, 3.5)])
    tracks.add(0.1, [])
    signals.add(0.0, {"a": SignalColor.GREEN})
    signals.add(0.5, {"a": SignalColor.RED, "b": "unknown"})
    t2 = TrackLog.from_dict(json.loads(json.dumps(tracks.to_dict())))
    s2 = SignalLog.from_dict(json.loads(json.dumps(signals.to_dict())))
    assert t2 == tracks and s2 == signals
    assert pickle.loads(pickle.dumps(tracks)) == tracks
    assert s2.at(0.2) == {"a": SignalColor.GREEN}
    assert s2.at(0.7) == {"a": SignalColor.RED, "b": SignalColor.UNKNOWN}
    assert s2.at(-1) == {}
