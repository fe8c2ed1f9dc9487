"""Signal providers: reading lamps from pixels (with debounce), fixed-time plans, logged timelines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.scene import Signal, load_scene_text
from detector.signals import (
    RoiSignal,
    ScheduleSignal,
    TimelineSignal,
    build_signal_providers,
    classify_patch,
)
from detector.types import SignalColor

ROI = (100, 50, 40, 100)  # x, y, w, h of the signal head in scene pixels


def street(scale: float = 1.0, lamp: str | None = "red", seed: int = 0) -> np.ndarray:
    """A noisy grey street frame with a dark signal head; ``lamp`` lights the red (top) or green
    (bottom) lens, ``"dark"`` leaves both unlit (dim red and green lenses)."""
    rng = np.random.default_rng(seed)
    h, w = int(480 * scale), int(640 * scale)
    img = rng.normal(120, 20, (h, w, 3)).clip(0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    x, y, bw, bh = (int(v * scale) for v in ROI)
    cv2.rectangle(img, (x, y), (x + bw, y + bh), (30, 30, 30), -1)
    top, bottom = (x + bw // 2, y + bh // 4), (x + bw // 2, y + 3 * bh // 4)
    r = int(13 * scale)
    cv2.circle(img, top, r, (20, 20, 70), -1)  # unlit red lens
    cv2.circle(img, bottom, r, (40, 70, 20), -1)  # unlit green lens
    if lamp == "red":
        cv2.circle(img, top, r, (40, 40, 240), -1)
        cv2.circle(img, top, r // 3, (200, 200, 255), -1)  # over-exposed core
    elif lamp == "green":
        cv2.circle(img, bottom, r, (170, 230, 40), -1)  # signal green leans to cyan
    return img


def roi_signal(debounce_s: float = 0.5) -> RoiSignal:
    return RoiSignal(Signal(name="ped-main", roi=ROI, debounce_s=debounce_s))


@pytest.mark.parametrize("lamp, expected", [("red", SignalColor.RED), ("green", SignalColor.GREEN), ("dark", SignalColor.UNKNOWN)])
def test_reading_a_lamp(lamp, expected):
    sig = roi_signal()
    assert sig.read(street(lamp=lamp), (1.0, 1.0)) == expected


def test_roi_is_scaled_from_scene_to_frame_pixels():
    sig = roi_signal()
    assert sig.read(street(scale=2.0, lamp="green"), (2.0, 2.0)) == SignalColor.GREEN
    # Read with the wrong scale, the ROI lands on the street and sees no lamp.
    assert sig.read(street(scale=2.0, lamp="green"), (0.5, 0.5)) == SignalColor.UNKNOWN


def test_plain_grey_or_empty_patch_is_unknown():
    assert classify_patch(np.full((50, 50, 3), 128, np.uint8)) == SignalColor.UNKNOWN
    assert classify_patch(np.zeros((0, 0, 3), np.uint8)) == SignalColor.UNKNOWN


def feed(sig: RoiSignal, lamps: list[str], dt: float = 0.1) -> list[SignalColor]:
    frames = {k: street(lamp=k) for k in set(lamps)}
    return [sig.observe(i * dt, frames[k], (1.0, 1.0)) for i, k in enumerate(lamps)]


def test_flicker_does_not_change_the_state():
    sig = roi_signal(debounce_s=0.5)
    lamps = ["green"] * 20 + ["red"] + ["green"] * 10 + ["red"] * 3 + ["green"] * 10
    states = feed(sig, lamps)
    assert set(states[6:]) == {SignalColor.GREEN}
    assert SignalColor.RED not in [c for _, c in sig.changes]


def test_a_held_change_switches_after_the_debounce_and_is_dated_at_the_first_read():
    sig = roi_signal(debounce_s=0.5)
    lamps = ["green"] * 20 + ["red"] * 20
    states = feed(sig, lamps)
    assert states[20] == SignalColor.GREEN  # first red read: not yet
    assert states[24] == SignalColor.GREEN
    assert states[25] == SignalColor.RED  # held 0.5 s
    assert sig.changes[-1] == (pytest.approx(2.0), SignalColor.RED)
    assert sig.changed_at == pytest.approx(2.0)


def test_briefly_unreadable_lamp_keeps_its_colour():
    sig = roi_signal(debounce_s=0.5)
    lamps = ["red"] * 20 + ["dark"] * 6 + ["red"] * 10
    states = feed(sig, lamps)
    assert set(states[6:]) == {SignalColor.RED}
    # A lamp dark for long enough does become UNKNOWN.
    sig = roi_signal(debounce_s=0.5)
    states = feed(sig, ["red"] * 20 + ["dark"] * 20)
    assert states[-1] == SignalColor.UNKNOWN


def test_missing_frame_keeps_the_state():
    sig = roi_signal(debounce_s=0.0)
    assert sig.observe(0.0, street(lamp="red"), (1.0, 1.0)) == SignalColor.RED
    assert sig.observe(0.1, None, (1.0, 1.0)) == SignalColor.RED


def test_schedule_arithmetic():
    sig = ScheduleSignal(Signal(name="s", schedule={"cycle_s": 60, "offset_s": 10, "red": [[0, 30]]}))
    expect = {
        0.0: SignalColor.GREEN,  # phase 50
        9.9: SignalColor.GREEN,
        10.0: SignalColor.RED,  # phase 0
        39.9: SignalColor.RED,
        40.0: SignalColor.GREEN,  # phase 30: interval end is exclusive
        69.9: SignalColor.GREEN,
        70.0: SignalColor.RED,
        1000.0: SignalColor.GREEN,  # (1000 - 10) mod 60 = 30
        1045.0: SignalColor.RED,  # (1045 - 10) mod 60 = 15
    }
    for t, c in expect.items():
        assert sig.color_at(t) == c, t


def test_schedule_with_two_red_intervals_and_change_log():
    sig = ScheduleSignal(Signal(name="s", schedule={"cycle_s": 20, "red": [[0, 5], [10, 12]]}))
    states = [sig.observe(i * 0.5, None, (1, 1)) for i in range(41)]
    assert states[0] == SignalColor.RED and states[10] == SignalColor.GREEN
    assert states[20] == SignalColor.RED and states[24] == SignalColor.GREEN
    assert [t for t, _ in sig.changes] == [0.0, 5.0, 10.0, 12.0, 20.0]


def test_timeline_lookup():
    sig = TimelineSignal(Signal(name="s", timeline=[[3.0, "green"], [12.5, "red"], [40.0, "unknown"]]))
    assert sig.color_at(0.0) == SignalColor.UNKNOWN
    assert sig.color_at(3.0) == SignalColor.GREEN
    assert sig.color_at(12.49) == SignalColor.GREEN
    assert sig.color_at(12.5) == SignalColor.RED
    assert sig.color_at(39.0) == SignalColor.RED
    assert sig.color_at(100.0) == SignalColor.UNKNOWN


def test_build_signal_providers_picks_the_source():
    scene = load_scene_text(
        """
camera: cam
frame_size: [640, 480]
zones:
  - {name: xw, kind: crosswalk, signal: a, polygon: [[0, 0], [100, 0], [100, 100]]}
signals:
  - {name: a, roi: [100, 50, 40, 100]}
  - {name: b, schedule: {cycle_s: 60, red: [[0, 30]]}}
  - {name: c, timeline: [[0, red]]}
"""
    )
    providers = build_signal_providers(scene)
    assert {k: type(v) for k, v in providers.items()} == {"a": RoiSignal, "b": ScheduleSignal, "c": TimelineSignal}
    assert providers["c"].observe(1.0, None, (1.0, 1.0)) == SignalColor.RED
