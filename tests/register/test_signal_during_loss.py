"""A signal that changes while the drone's frames cannot be registered: a plan or a log keeps the
change's true time; a signal head read from the picture was not seen to change, so the case says
its time is not known instead of dating the change to when registration came back."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import yaml

from detector.media.encode import H264Writer
from detector.pipeline import AnalyzeOptions, analyze
from tests.register.red_blobs import RedBlobs
from tests.tracks.test_stabilise import frames

BEIJING = "beijing-intersection/uadetrac_overpass.mp4"
FPS, LOST, STEP_IN = 10, (3.0, 9.0), 10.5
LAMP = (60, 60, 10, 10)  # x, y, w, h: small enough for the red-blob detector to ignore (area <= 100)


def _flight(footage_dir, tmp_path, lamp: bool) -> None:
    """The ground (grey), a walker (red) at the kerb of a crossing who steps in at ``STEP_IN``; the
    drone sees nothing to register during ``LOST``. With ``lamp``, a signal head on the ground
    shows green before the loss and red after it."""
    ground = frames(footage_dir / BEIJING, 1)[0]
    ground = cv2.cvtColor(cv2.cvtColor(ground, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "reference.png"), ground)
    writer = H264Writer(tmp_path / "flight.mp4", 960, 540, FPS, Fraction(1, FPS), crf=12, preset="veryfast")
    try:
        for n in range(13 * FPS):
            t = n / FPS
            if LOST[0] <= t < LOST[1]:
                picture = np.full_like(ground, 128)  # sky, blur: nothing to place on the reference
            else:
                picture = ground.copy()
                x = 372 if t < STEP_IN else 392  # at the kerb (x = 400), then a step inside
                picture[200:300, x:x + 40] = (0, 0, 255)
                if lamp:
                    lx, ly, lw, lh = LAMP
                    picture[ly:ly + lh, lx:lx + lw] = (0, 255, 0) if t < LOST[0] else (0, 0, 255)
            writer.encode_bgr(picture, n)
    finally:
        writer.close()


def _analyse(tmp_path, signal: dict, grace_s: float) -> list[dict]:
    scene = {"camera": "drone-signal", "kind": "drone", "timezone": "UTC", "frame_size": [960, 540],
             "reference_image": "reference.png", "signals": [{"name": "p", **signal}],
             "zones": [{"name": "zebra", "kind": "crosswalk", "signal": "p", "min_entry_distance": 10,
                        "grace_s": grace_s, "polygon": [[400, 150], [800, 150], [800, 450], [400, 450]]}]}
    (tmp_path / "drone.scene.yaml").write_text(yaml.safe_dump(scene))
    analyze(tmp_path / "flight.mp4", tmp_path / "drone.scene.yaml", tmp_path / "out",
            AnalyzeOptions(evidence=False, slicing="off"), detector=RedBlobs(0, "person"))
    info = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert info["registration"]["unregistered"] == 60
    return json.loads((tmp_path / "out" / "cases.json").read_text())


def test_a_logged_signal_change_during_a_registration_loss_keeps_its_time(footage_dir, tmp_path):
    """The controller's log turns the signal red at 6 s, inside the loss (3-9 s); the walker steps
    in at 10.5 s, 4.5 s into red, past the 2 s grace. The rules were not told of the signal
    during the loss and read it as turning red at 9 s, when registration came back: 1.5 s into
    red, within the grace, and the walker was let off."""
    _flight(footage_dir, tmp_path, lamp=False)
    cases = _analyse(tmp_path, {"timeline": [[0, "green"], [6, "red"]]}, grace_s=2.0)
    assert len(cases) == 1, cases
    details = cases[0]["details"]
    assert details["red_since"] == 6.0 and details["red_since_observed"] is True
    assert abs(details["after_red_s"] - 4.5) < 0.15
    assert "red_since_unread_after" not in details


def test_a_signal_head_first_seen_red_after_a_registration_loss_says_its_time_is_unknown(footage_dir, tmp_path):
    """The signal head, read from the picture, shows green before the loss and red after it: it
    turned red at some moment nobody saw. The case dated the change to the loss's end and told
    the walker "1.x s after p turned red", as if that had been seen."""
    _flight(footage_dir, tmp_path, lamp=True)
    cases = _analyse(tmp_path, {"roi": list(LAMP), "debounce_s": 0.2}, grace_s=0.0)
    assert len(cases) == 1, cases
    details, explanation = cases[0]["details"], cases[0]["explanation"]
    assert details["red_since_observed"] is False
    assert 2.5 <= details["red_since_unread_after"] < LOST[0], details
    assert LOST[1] <= details["red_since"] < STEP_IN
    assert "when it turned red is not known" in explanation and "after p turned red" not in explanation
