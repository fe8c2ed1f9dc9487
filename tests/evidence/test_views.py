"""Drone footage: each analysis instant's view (reference -> picture) travels in the track log and
tracks.json, and the annotated clip draws the zones warped to where they lie in that frame."""

from __future__ import annotations

import numpy as np

from detector.evidence.annotate import Annotator
from detector.evidence.casetrack import case_tracks_dict
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.scene import load_scene_text
from detector.types import ViolationEvent

SCENE = load_scene_text("""
camera: drone-test
kind: drone
frame_size: [400, 300]
zones:
  - {name: kerb, kind: no_parking, polygon: [[100, 100], [200, 100], [200, 160], [100, 160]], max_stop_s: 5}
""")
SHIFT = np.array([[1, 0, 60], [0, 1, 40], [0, 0, 1]], float)  # the picture moved 60 px right, 40 down


def _log() -> TrackLog:
    log = TrackLog()
    for t in (0.9, 1.0, 1.1):
        log.add(t, [])
    log.add_view(1.0, SHIFT)
    return log


def test_views_round_trip_and_reach_tracks_json():
    log = _log()
    again = TrackLog.from_dict(log.to_dict())
    assert again.view_at(1.02) == tuple(SHIFT.ravel()) and again.view_at(0.5) is None
    event = ViolationEvent(rule="illegal_parking", zone="kerb", start_s=0.9, end_s=1.1, key_t=1.0,
                           object_class="car", track_ids=[1], confidence=0.9, explanation="", key_box=(0, 0, 1, 1))
    data = case_tracks_dict(scene=SCENE, event=event, track_log=log, signal_log=SignalLog(),
                            clip_start_s=0.8, clip_end_s=1.2, clip_offset_s=0.0)
    assert data["views"] == [[1.0, *SHIFT.ravel().tolist()]]
    assert TrackLog.from_dict(data["track_log"]).views == {1.0: tuple(SHIFT.ravel())}


def test_old_track_logs_without_views_still_load():
    log = TrackLog.from_dict({"times": [0.0], "frames": [[]]})
    assert log.views == {} and log.view_at(0.0) is None


def test_annotated_frame_draws_the_zone_where_the_picture_put_it():
    annotator = Annotator(SCENE, track_log=_log())
    moved = annotator.draw(np.zeros((300, 400, 3), np.uint8), 1.0)
    fixed = Annotator(SCENE, track_log=TrackLog()).draw(np.zeros((300, 400, 3), np.uint8), 1.0)
    # Left edge of the zone: x=100 on the reference, x=160 in the moved picture (rows inside it).
    assert moved[170:190, 159:162].any() and not moved[120:140, 99:102].any()
    assert fixed[120:140, 99:102].any() and not fixed[170:190, 159:162].any()
