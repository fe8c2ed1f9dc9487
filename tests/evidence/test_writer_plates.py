"""Vehicle cases carry the plate read from the offender's largest views; other cases carry none."""

from __future__ import annotations

from detector.evidence import SignalLog, TrackLog, write_cases
from detector.scene import load_scene_text
from detector.types import TrackObservation, ViolationEvent
from plate_photos import CCPD, PHOTO_PLATE, photo_row, still_video

SCENE = """
camera: hefei-kerb-01
place: Hefei kerb
start_time: 2024-05-01T08:00:00+08:00
frame_size: [720, 1160]
zones:
  - {name: kerb, kind: no_parking, max_stop_s: 1, polygon: [[0, 0], [720, 0], [720, 1160], [0, 1160]]}
"""


def test_parked_car_case_reads_its_plate_and_a_walker_case_does_not(tmp_path):
    row = photo_row()
    video = tmp_path / "kerb.mp4"
    still_video(CCPD / row["file"], video)
    x1, y1, x2, y2 = (float(row[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
    car = (max(0.0, x1 - 150), max(0.0, y1 - 320), min(720.0, x2 + 150), min(1160.0, y2 + 80))
    tracks, signals = TrackLog(), SignalLog()
    for i in range(20):
        t = round(i * 0.1, 3)
        tracks.add(t, [TrackObservation(t, 5, "car", car, 0.9), TrackObservation(t, 8, "person", (20, 900, 80, 1100), 0.8)])
    parked = ViolationEvent(rule="illegal_parking", zone="kerb", start_s=0.2, end_s=1.6, key_t=1.0, object_class="car",
                            track_ids=[5], confidence=0.9, explanation="stopped 1.4 s where stopping is forbidden",
                            key_box=car)
    walker = ViolationEvent(rule="red_light_pedestrian", zone="kerb", start_s=0.5, end_s=0.8, key_t=0.5,
                            object_class="person", track_ids=[8], confidence=0.8, explanation="scripted walker")
    cases = write_cases(source=video, scene=load_scene_text(SCENE), events=[parked, walker], track_log=tracks,
                        signal_log=signals, out_dir=tmp_path / "run", pre=0.2, post=0.2)
    by_rule = {c["rule"]: c for c in cases}
    plate = by_rule["illegal_parking"]["plate"]
    assert plate is not None and plate["text"] == PHOTO_PLATE and plate["format_ok"], plate
    assert 0 < plate["confidence"] <= 1 and plate["frames_read"] >= 1 and 0 <= plate["t"] <= 2
    assert by_rule["red_light_pedestrian"]["plate"] is None
