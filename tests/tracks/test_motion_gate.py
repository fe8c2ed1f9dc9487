"""The motion gate reuses detections only while the picture is unchanged since the last detection."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from detector.motion_gate import MotionGate

BEIJING = Path(__file__).resolve().parents[2].parent / "shared" / "footage" / "beijing-intersection" / "uadetrac_overpass.mp4"


def _street(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(40, 200, (540, 960, 3), dtype=np.uint8)


def test_unchanged_picture_skips_until_the_time_limit():
    gate, frame = MotionGate(max_skip_s=2.0), _street()
    assert not gate.may_skip(0.0, frame)  # nothing detected yet
    gate.detected(0.0, frame)
    assert gate.may_skip(0.1, frame.copy())
    assert gate.may_skip(1.9, frame.copy())
    assert not gate.may_skip(2.0, frame.copy())  # at least one detection every 2 s
    assert gate.stats.frames == 4 and gate.stats.skipped == 2


def test_sensor_noise_does_not_open_the_gate():
    gate, frame = MotionGate(), _street()
    gate.detected(0.0, frame)
    noise = np.random.default_rng(2).integers(-6, 7, frame.shape)
    assert gate.may_skip(0.1, np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8))


def test_a_distant_walker_of_ten_pixels_opens_the_gate():
    gate, frame = MotionGate(), _street()
    gate.detected(0.0, frame)
    moved = frame.copy()
    moved[300:312, 500:505] = 15  # a dark figure 12 px tall, 5 px wide appeared
    assert not gate.may_skip(0.1, moved)


def test_slow_change_adds_up_against_the_last_detection():
    gate, frame = MotionGate(), _street()
    gate.detected(0.0, frame)
    # One pixel column further each frame: no single step is large, but against the reference
    # frame the change grows until the gate opens.
    opened = None
    for step in range(1, 20):
        moved = frame.copy()
        moved[300:312, 500:500 + step] = 15
        if not gate.may_skip(step * 0.1, moved):
            opened = step
            break
    assert opened is not None and opened <= 4


def test_real_traffic_keeps_the_gate_open():
    if not BEIJING.is_file():
        pytest.fail(f"footage missing: {BEIJING}")
    gate, skipped = MotionGate(), 0
    with av.open(str(BEIJING)) as container:
        for i, f in enumerate(container.decode(video=0)):
            if i % 3:
                continue  # 10 fps analysis frames
            image = f.to_ndarray(format="bgr24")
            if gate.may_skip(i / 30, image):
                skipped += 1
            else:
                gate.detected(i / 30, image)
            if i > 90:
                break
    assert skipped == 0
