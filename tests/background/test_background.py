"""Background model: new-and-still objects are found; moving, covered or relit things are not.

Frames are synthetic: a textured pavement (blurred noise, or a real street photo from the shared
footage) with per-frame sensor noise, onto which objects are pasted for chosen time spans.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from detector.background import StaticObjectFinder
from detector.scene import load_scene_text
from detector.types import StaticObject, TrackObservation

W, H = 320, 240
FPS = 5.0
SCENE = f"""
camera: square-cam
frame_size: [{W}, {H}]
zones:
  - name: square
    kind: no_litter
    polygon: [[10, 60], [310, 60], [310, 230], [10, 230]]
    min_area: 60
    max_area: 8000
"""
OBJ = (150, 150, 172, 164)  # x1, y1, x2, y2 of the dropped thing


def pavement(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.normal(128, 35, (H, W, 3)).clip(0, 255).astype(np.uint8)
    return cv2.GaussianBlur(img, (7, 7), 0)


def paste(img: np.ndarray, box, color=(30, 200, 230)) -> np.ndarray:
    out = img.copy()
    x1, y1, x2, y2 = box
    cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), color, -1)
    return out


Frames = Callable[[float, np.ndarray], np.ndarray]
Obs = Callable[[float], list[TrackObservation]]


def play(finder, base: np.ndarray, t_end: float, frame_at: Frames, obs_at: Obs | None = None):
    """Feed frames at 10 fps; return {t: objects} for every instant."""
    seen: dict[float, tuple[StaticObject, ...]] = {}
    for n in range(int(t_end * FPS) + 1):
        t = round(n / FPS, 3)
        frame = frame_at(t, base)
        noise = np.empty(frame.shape, np.int16)
        cv2.randn(noise, 0, 3)
        noisy = cv2.add(frame.astype(np.int16), noise).clip(0, 255).astype(np.uint8)
        seen[t] = finder.update(t, noisy, obs_at(t) if obs_at else [])
    return seen


def make_finder(scene_text: str = SCENE) -> StaticObjectFinder:
    return StaticObjectFinder(load_scene_text(scene_text))


def overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_dropped_object_that_stays_is_reported_with_a_stable_id():
    frames = lambda t, base: paste(base, OBJ) if t >= 2.0 else base
    seen = play(make_finder(), pavement(), 16.0, frames)
    assert all(not objs for t, objs in seen.items() if t < 2.0)
    final = seen[16.0]
    assert len(final) == 1
    obj = final[0]
    assert overlaps(obj.box, OBJ)
    # Box close to the pasted one (blur and morphology may grow it by a few pixels).
    assert all(abs(a - b) <= 6 for a, b in zip(obj.box, OBJ))
    assert 2.0 <= obj.first_seen <= 2.2
    assert 2.0 <= obj.static_since <= 4.0
    assert obj.last_seen == 16.0 and obj.last_seen - obj.static_since >= 10.0
    assert obj.label == "object"
    ids = {o.object_id for t, objs in seen.items() for o in objs}
    assert ids == {obj.object_id}


def test_object_removed_quickly_is_dropped():
    frames = lambda t, base: paste(base, OBJ) if 2.0 <= t < 4.0 else base
    seen = play(make_finder(), pavement(), 16.0, frames)
    assert all(not objs for t, objs in seen.items() if t >= 6.0)
    assert all(o.last_seen - o.static_since < 3.0 for objs in seen.values() for o in objs)


def test_moving_object_is_never_static():
    def frames(t, base):
        if t < 1.0:
            return base
        x = int(18 * t)  # 18 px/s across the square
        return paste(base, (x, 150, x + 22, 164))

    seen = play(make_finder(), pavement(), 14.0, frames)
    assert all(not objs for objs in seen.values())


def test_change_under_a_person_box_is_ignored():
    person_box = (140.0, 80.0, 185.0, 168.0)
    frames = lambda t, base: paste(base, (148, 90, 178, 166), (60, 40, 160)) if t >= 2.0 else base
    person = lambda t: [TrackObservation(t, 5, "person", person_box, 0.9)] if t >= 1.5 else []
    seen = play(make_finder(), pavement(), 15.0, frames, person)
    assert all(not objs for objs in seen.values())


def test_ghost_where_a_person_stood_at_the_start_is_not_reported():
    # A person stands on the spot when the model starts and walks away at 3 s.
    frames = lambda t, base: paste(base, (148, 90, 178, 166), (60, 40, 160)) if t < 3.0 else base
    person = lambda t: [TrackObservation(t, 5, "person", (140.0, 80.0, 185.0, 168.0), 0.9)] if t < 3.0 else []
    seen = play(make_finder(), pavement(), 15.0, frames, person)
    assert all(not objs for objs in seen.values())


def test_object_briefly_hidden_by_a_passer_by_keeps_its_id():
    hide = (140.0, 100.0, 185.0, 170.0)

    def frames(t, base):
        img = paste(base, OBJ) if t >= 2.0 else base
        return paste(img, (145, 105, 180, 168), (90, 60, 50)) if 8.0 <= t < 9.0 else img

    person = lambda t: [TrackObservation(t, 3, "person", hide, 0.9)] if 8.0 <= t < 9.0 else []
    seen = play(make_finder(), pavement(), 14.0, frames, person)
    ids = {o.object_id for t, objs in seen.items() if t >= 4.0 for o in objs}
    assert len(ids) == 1
    assert seen[14.0] and seen[14.0][0].last_seen == 14.0


def test_global_brightness_change_makes_no_object():
    frames = lambda t, base: cv2.convertScaleAbs(base, alpha=1.45, beta=0) if t >= 5.0 else base
    seen = play(make_finder(), pavement(), 15.0, frames)
    assert all(not objs for objs in seen.values())


def test_sudden_partial_relighting_makes_no_object():
    # A street light comes on over the right half: too big for max_area, shadow-free brightening.
    def frames(t, base):
        if t < 5.0:
            return base
        img = base.astype(np.int16)
        img[:, W // 2 :] += 60
        return img.clip(0, 255).astype(np.uint8)

    seen = play(make_finder(), pavement(), 15.0, frames)
    assert all(not objs for objs in seen.values())


def test_shadow_of_a_standing_person_is_not_an_object():
    def frames(t, base):
        if t < 2.0:
            return base
        img = base.astype(np.float32)
        img[150:175, 190:260] *= 0.6  # a shadow beside the person's box
        return img.astype(np.uint8)

    person = lambda t: [TrackObservation(t, 5, "person", (160.0, 80.0, 190.0, 176.0), 0.9)] if t >= 2.0 else []
    seen = play(make_finder(), pavement(), 15.0, frames, person)
    assert all(not objs for objs in seen.values())


def test_outside_the_zone_is_ignored():
    frames = lambda t, base: paste(base, (150, 20, 172, 34)) if t >= 2.0 else base
    seen = play(make_finder(), pavement(), 12.0, frames)
    assert all(not objs for objs in seen.values())


def test_no_litter_zone_means_no_work():
    text = SCENE.replace("kind: no_litter", "kind: no_parking").replace("    min_area: 60\n    max_area: 8000\n", "")
    finder = make_finder(text)
    assert finder.update(0.0, pavement(), []) == ()


def test_object_on_a_real_street_photo(footage_dir):
    photo = cv2.imread(str(footage_dir / "litter" / "IMG_7.jpg"))
    assert photo is not None
    base = cv2.resize(photo, (W, H), interpolation=cv2.INTER_AREA)
    frames = lambda t, b: paste(b, OBJ, (240, 240, 250)) if t >= 2.0 else b
    seen = play(make_finder(), base, 14.0, frames)
    final = seen[14.0]
    assert len(final) == 1 and overlaps(final[0].box, OBJ)
    assert final[0].last_seen - final[0].static_since >= 10.0


def test_scene_sized_frames_at_another_size_are_resized():
    finder = make_finder()
    big = cv2.resize(pavement(), (W * 2, H * 2))
    assert finder.update(0.0, big, []) == ()
    assert finder.update(0.1, big, []) == ()
