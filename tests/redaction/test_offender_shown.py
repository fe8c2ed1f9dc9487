"""The public sees the offender the red outline points at: a neighbouring vehicle's blur box,
grown by its margin, went over the offender's car (on the Beijing drill a small far offender was
an outline around blur on several published frames). His box is put back, and what identifies
a bystander inside it (the neighbour's plate band, a person whole) is blurred again."""

from __future__ import annotations

import numpy as np

from service.redaction import Region, _Redactor
from service.redaction_track import Detection, Timeline

W, H = 320, 240
OFFENDER = (100.0, 100.0, 200.0, 160.0)
NEIGHBOUR = Region((190.0, 110.0, 300.0, 170.0), "vehicle")  # its grown blur box reaches x ~168
WALKER = Region((80.0, 90.0, 116.0, 150.0), "person")  # a bystander half in front of the car
CASE = {"frame_size": [W, H], "offender_track": [{"t": 0.0, "box": list(OFFENDER)}, {"t": 1.0, "box": list(OFFENDER)}]}


def _texture() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    board = (((xx // 4) + (yy // 4)) % 2 * 200 + 28).astype(np.uint8)
    return np.dstack([board, board, board])


def _detail(img: np.ndarray, box: tuple) -> float:
    x1, y1, x2, y2 = (int(v) for v in box)
    return float(img[y1:y2, x1:x2].astype(np.float32).std())


def _published(regions: list[Region], policy: str = "bystanders") -> np.ndarray:
    dets = [Detection(t, (Region(OFFENDER, "vehicle"), *regions)) for t in (0.4, 0.5, 0.6)]
    frame = _texture()
    out = _Redactor(CASE, policy, finders=[lambda f: []], timeline=Timeline(dets))(frame, 0.5)
    assert out is not None
    return out


def test_a_neighbours_blur_does_not_hide_the_offender():
    sharp = _detail(_texture(), OFFENDER)
    out = _published([NEIGHBOUR])
    # the whole car, the part next to the neighbour included (inside the red outline's 2 px)
    assert _detail(out, (103, 103, 188, 138)) > 0.9 * sharp
    assert _detail(out, (168, 103, 188, 138)) > 0.9 * sharp
    assert _detail(out, (215, 115, 295, 140)) < 0.35 * sharp  # the neighbour outside him: blurred
    assert _detail(out, (206, 150, 280, 168)) < 0.35 * sharp  # and its plate band


def test_a_bystander_inside_the_offenders_box_stays_blurred():
    sharp = _detail(_texture(), OFFENDER)
    out = _published([WALKER])
    assert _detail(out, (103, 104, 114, 148)) < 0.35 * sharp  # the walker, where he is in front of the car
    assert _detail(out, (160, 103, 196, 157)) > 0.9 * sharp  # the rest of the car


def test_policy_all_still_blurs_the_offenders_plate_band():
    out = _published([NEIGHBOUR], policy="all")
    assert _detail(out, (118, 140, 182, 158)) < 0.35 * _detail(_texture(), OFFENDER)


def test_nobody_in_a_cars_box_is_taken_for_the_offender():
    """A parked car is the offender; a walker passing behind it is boxed inside the car's box, his
    face in its top half. He was taken for a part of the offender (a box inside his, smaller) and
    his face for the offender's (a face in the top of his box), and published sharp, face and all.
    A car, bus or truck holds no person who is the offence: he is blurred, the car stays sharp."""
    walker = Region((130.0, 102.0, 150.0, 158.0), "person")
    face = Region((135.0, 104.0, 145.0, 114.0), "face")
    car = dict(CASE, object_class="car")
    dets = [Detection(t, (Region(OFFENDER, "vehicle"), walker, face)) for t in (0.4, 0.5, 0.6)]
    out = _Redactor(car, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.5)
    assert out is not None
    assert _detail(out, (135, 104, 145, 114)) < 0.35 * _detail(_texture(), (135, 104, 145, 114))  # his face
    assert _detail(out, (131, 116, 149, 156)) < 0.35 * _detail(_texture(), (131, 116, 149, 156))  # his body
    assert _detail(out, (160, 103, 196, 157)) > 0.9 * _detail(_texture(), (160, 103, 196, 157))  # the car
    # a walker offender's own face and body stay sharp as before
    walking = dict(CASE, object_class="person")
    out = _Redactor(walking, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.5)
    assert _detail(out, (135, 104, 145, 114)) > 0.9 * _detail(_texture(), (135, 104, 145, 114))


def test_no_vehicle_in_a_walkers_box_is_taken_for_the_offender():
    """A walker crossing on red is the offender, near the camera: a far car waiting at the stop
    line is seen beside his legs, boxed inside his box. It was taken for a part of him (a box inside
    his, smaller) and its plate for his (a plate whose centre is in his box), and the car's plate
    was published readable. A walker is made of no vehicle: the car is blurred, he stays sharp."""
    walker = (100.0, 40.0, 170.0, 230.0)
    case = {"frame_size": [W, H], "object_class": "person",
            "offender_track": [{"t": 0.0, "box": list(walker)}, {"t": 1.0, "box": list(walker)}]}
    car, plate = Region((112.0, 150.0, 150.0, 178.0), "vehicle"), Region((122.0, 168.0, 140.0, 175.0), "plate")
    dets = [Detection(t, (Region(walker, "person"), car, plate)) for t in (0.4, 0.5, 0.6)]
    out = _Redactor(case, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.5)
    assert out is not None
    assert _detail(out, (122, 168, 140, 175)) < 0.35 * _detail(_texture(), (122, 168, 140, 175))  # the plate
    assert _detail(out, (103, 45, 167, 140)) > 0.9 * _detail(_texture(), (103, 45, 167, 140))  # the walker


def test_with_no_finder_a_cars_windows_are_blurred_and_a_walker_stays_sharp():
    """No face or person finder loaded: everything outside the offender is blurred, and his box was
    left sharp whole. A car's box holds its driver and whoever walks behind it, faces no finder
    picked out: above its bottom part (bumper, plate band) it is blurred too. A walker's box is him."""
    frame = _texture()
    car = _Redactor(dict(CASE, object_class="car"), "bystanders", finders=[])(frame, 0.5)
    assert _detail(car, (104, 104, 196, 134)) < 0.35 * _detail(frame, (104, 104, 196, 134))  # windows
    assert _detail(car, (104, 140, 196, 157)) > 0.9 * _detail(frame, (104, 140, 196, 157))  # bumper, plate
    assert _detail(car, (10, 10, 90, 90)) < 0.35 * _detail(frame, (10, 10, 90, 90))  # outside him
    walker = _Redactor(dict(CASE, object_class="person"), "bystanders", finders=[])(frame, 0.5)
    assert _detail(walker, (104, 104, 196, 157)) > 0.9 * _detail(frame, (104, 104, 196, 157))
