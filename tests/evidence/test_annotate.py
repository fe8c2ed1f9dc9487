"""Annotation: scene-px geometry scaled to the frame, offender highlighted, ASCII time stamps."""

from __future__ import annotations

import numpy as np

from detector.evidence.annotate import OFFENDER_COLOR, Annotator, format_timestamp

from .helpers import make_event, make_scene, person_box


def is_magenta(img):
    b, g, r = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    return (b > 200) & (r > 200) & (g < 60)


def test_timestamp_in_camera_time_zone():
    scene = make_scene()
    assert format_timestamp(scene, 12.3) == "t=12.30s  2024-05-01 08:00:12 CST +08:00"
    assert format_timestamp(make_scene(start_time=None), 12.3) == "t=12.30s"


def test_offender_drawn_at_scaled_position(logs):
    tracks, signals = logs
    scene = make_scene()  # 1920x1080 scene, frames drawn at half size
    ann = Annotator(scene, track_log=tracks, signal_log=signals, event=make_event())
    frame = np.zeros((540, 960, 3), np.uint8)
    out = ann(frame, 1.2)
    x1, y1, x2, y2 = (v / 2 for v in person_box(1.2))
    mid_y = int((y1 + y2) / 2)
    assert is_magenta(out[mid_y - 3:mid_y + 3, int(x2) - 2:int(x2) + 3]).any()  # right edge, scaled
    # Unscaled position (scene px taken as frame px) stays unmarked.
    X2 = int(person_box(1.2)[2])
    assert X2 < 960 and not is_magenta(out[mid_y - 3:mid_y + 3, X2 - 2:X2 + 3]).any()
    # The path so far (ground points up to t) is drawn, and nothing of it beyond t.
    gy = int(y2)
    left = int(person_box(0.2)[0] / 2 + 15)
    assert is_magenta(out[gy - 3:gy + 4, left:left + 3]).any()
    future = int((person_box(2.0)[0] + 30) / 2)
    assert not is_magenta(out[gy - 3:gy + 4, future - 1:future + 2]).any()


def test_other_tracks_and_signal_badge(logs):
    tracks, signals = logs
    scene = make_scene()
    ann = Annotator(scene, track_log=tracks, signal_log=signals, event=make_event())
    red = ann(np.zeros((540, 960, 3), np.uint8), 1.5)
    green = ann(np.zeros((540, 960, 3), np.uint8), 0.5)
    # Badge under the header: pure red fill on red, green fill on green.
    badge_red = ((red[..., 2] > 200) & (red[..., 1] < 40) & (red[..., 0] < 40))[:60, :100].sum()
    badge_green = ((green[..., 1] > 180) & (green[..., 2] < 40) & (green[..., 0] < 40))[:60, :100].sum()
    assert badge_red > 100 and badge_green > 100
    # The car (#3) is drawn, but not in the offender colour.
    car = next(o for o in tracks.at(1.5) if o.track_id == 3)
    cx1, cy1 = int(car.box[0] / 2), int((car.box[1] + car.box[3]) / 4)
    patch = red[cy1 - 2:cy1 + 3, cx1 - 2:cx1 + 3]
    assert patch.max() > 100 and not is_magenta(patch).any()
    assert tuple(OFFENDER_COLOR) == (255, 0, 255)


def test_non_ascii_names_do_not_break_drawing(logs):
    tracks, signals = logs
    base = make_scene()
    zone = base.zones[0].model_copy(update={"name": "北口人行横道"})
    scene = base.model_copy(update={"zones": [zone, base.zones[1]]})
    out = Annotator(scene, track_log=tracks, signal_log=signals)(np.zeros((240, 320, 3), np.uint8), 0.0)
    assert out.shape == (240, 320, 3) and out.any()


def test_litter_case_marks_the_left_object_once_it_was_left(logs):
    tracks, signals = logs
    box = (1400.0, 900.0, 1440.0, 930.0)  # scene px, far from every track
    event = make_event(rule="litter", zone="crosswalk-north", object_class="object", track_ids=[7],
                       details={"object_box": list(box), "first_seen": 1.0})
    ann = Annotator(make_scene(), track_log=tracks, signal_log=signals, event=event)
    x1, y1, x2, y2 = (v / 2 for v in box)
    left_edge = (slice(int(y1), int(y2)), slice(int(x1) - 6, int(x1)))
    before = ann(np.zeros((540, 960, 3), np.uint8), 0.5)
    assert not is_magenta(before[left_edge]).any()  # not yet left
    after = ann(np.zeros((540, 960, 3), np.uint8), 1.5)
    assert is_magenta(after[left_edge]).any()
