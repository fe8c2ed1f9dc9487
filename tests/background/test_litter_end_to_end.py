"""Background model and litter rule together: a person walks up, drops something, walks away."""

from __future__ import annotations

import cv2
import numpy as np

from detector.background import StaticObjectFinder
from detector.rules import LitterRule
from detector.scene import load_scene_text
from detector.types import FrameContext, TrackObservation

from .test_background import OBJ, SCENE, pavement, paste

FPS = 5.0


def person_at(t: float) -> tuple[float, float] | None:
    """Ground point of the litterer: walks in 0..4 s, stands 4..6 s beside the spot, leaves by 10 s."""
    if t < 4.0:
        return 20.0 + (190.0 - 20.0) * t / 4.0, 170.0
    if t < 6.0:
        return 190.0, 170.0
    if t < 10.0:
        return 190.0 + (300.0 - 190.0) * (t - 6.0) / 4.0, 120.0 + 50.0 * (10.0 - t) / 4.0
    return None


def draw_person(img: np.ndarray, g: tuple[float, float]) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    x, y = g
    box = (x - 12, y - 70, x + 12, y)
    out = img.copy()
    cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (70, 50, 150), -1)
    return out, box


def test_dropped_object_is_a_litter_case_naming_the_person():
    scene = load_scene_text(SCENE)
    finder = StaticObjectFinder(scene)
    rule = LitterRule(scene.zones[0])
    base = pavement(3)
    events = []
    for n in range(int(30 * FPS) + 1):
        t = n / FPS
        frame = paste(base, OBJ) if t >= 5.0 else base
        obs: list[TrackObservation] = []
        g = person_at(t)
        if g is not None:
            frame, box = draw_person(frame, g)
            obs.append(TrackObservation(t, 7, "person", box, 0.9))
        noise = np.empty(frame.shape, np.int16)
        cv2.randn(noise, 0, 3)
        frame = cv2.add(frame.astype(np.int16), noise).clip(0, 255).astype(np.uint8)
        static = finder.update(t, frame, obs)
        events += rule.update(FrameContext(t, n, tuple(obs), {}, static))
    events += rule.finish(30.0)
    assert len(events) == 1
    ev = events[0]
    assert ev.rule == "litter" and ev.track_ids == [7]
    assert "by person #7" in ev.explanation
    assert 4.5 <= ev.details["first_seen"] <= 6.5
    assert ev.end_s == 30.0
    x1, y1, x2, y2 = ev.details["object_box"]
    assert x1 < OBJ[2] and OBJ[0] < x2 and y1 < OBJ[3] and OBJ[1] < y2
