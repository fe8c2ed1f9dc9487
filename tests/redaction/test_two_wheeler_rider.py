"""A two-wheeler's rider is the offender, not a bystander over his head. A wrong-way motorbike's
case carries the machine's box; its rider's person box, over the machine's top, was judged a
bystander standing over the offender's head, so the frame was left out of the public clip (on
the real South Asian wrong-way drill 81 and 92 of each case's 156 frames) and, where kept, the
rider was blurred. And the offender's box was held a second past his track's ends: a passer-by
who stepped into his place was taken for him, kept sharp and outlined."""

from __future__ import annotations

import numpy as np

from service.redaction import Region, _Redactor, offender_box_at
from service.redaction_track import Detection, Timeline, with_riders
from service.sheet_redaction import redact_picture

from tests.redaction.test_offender_shown import H, W, _detail, _texture

MOTO = (100.0, 120.0, 200.0, 190.0)  # the machine's box, as the case carries it
RIDER = Region((120.0, 70.0, 180.0, 170.0), "person")  # sitting on it: feet over the machine
RIDER_FACE = Region((140.0, 74.0, 158.0, 94.0), "face")


def _case(cls: str, box=MOTO, times=(0.0, 1.0)) -> dict:
    return {"frame_size": [W, H], "object_class": cls, "offender_track": [{"t": t, "box": list(box)} for t in times]}


def _redactor(cls: str, *regions: Region) -> _Redactor:
    dets = [Detection(t, (Region(MOTO, "vehicle"), *regions)) for t in (0.4, 0.5, 0.6)]
    return _Redactor(_case(cls), "bystanders", finders=[lambda f: []], timeline=Timeline(dets))


def test_the_rider_of_an_offending_motorbike_or_bicycle_is_shown():
    for cls in ("motorcycle", "bicycle"):
        redact = _redactor(cls, RIDER, RIDER_FACE)
        outs = [redact(_texture(), t) for t in (0.45, 0.5, 0.55)]
        assert all(o is not None for o in outs), (cls, redact.dropped)
        for out in outs:
            assert _detail(out, (126, 100, 174, 160)) > 0.9 * _detail(_texture(), (126, 100, 174, 160))  # his body
            assert _detail(out, (142, 76, 156, 92)) > 0.9 * _detail(_texture(), (142, 76, 156, 92))  # his face


def test_a_walker_beside_the_motorbike_is_still_blurred():
    walker = Region((210.0, 60.0, 240.0, 190.0), "person")  # beside it, not on it
    out = _redactor("motorcycle", RIDER, walker)(_texture(), 0.5)
    assert out is not None
    assert _detail(out, (214, 70, 236, 180)) < 0.35 * _detail(_texture(), (214, 70, 236, 180))


def test_riders_grow_only_a_two_wheelers_box():
    assert with_riders(MOTO, (RIDER,), "motorcycle") == (100.0, 70.0, 200.0, 190.0)
    assert with_riders(MOTO, (RIDER,), "car") == MOTO  # no one rides on a car's roof
    assert with_riders(MOTO, (Region((210.0, 60.0, 240.0, 190.0), "person"),), "bicycle") == MOTO


def test_the_sheet_shows_the_rider_too():
    finder = lambda picture: [Region(MOTO, "vehicle"), RIDER, RIDER_FACE]  # noqa: E731
    out = redact_picture(_texture(), [MOTO], "bystanders", [finder], "motorcycle")
    assert _detail(out, (126, 100, 174, 160)) > 0.9 * _detail(_texture(), (126, 100, 174, 160))
    assert _detail(out, (142, 76, 156, 92)) > 0.9 * _detail(_texture(), (142, 76, 156, 92))


def test_the_offenders_box_is_held_one_sampling_step_past_his_track():
    case = _case("person", box=(100.0, 60.0, 140.0, 220.0), times=[round(0.1 * i, 1) for i in range(6)])  # 0.0-0.5 s
    assert offender_box_at(case, 0.7) is not None  # within 0.3 s of his last point
    assert offender_box_at(case, 1.3) is None  # someone else may stand there now
    late = _case("person", box=(100.0, 60.0, 140.0, 220.0), times=[2.0, 2.5, 3.0])
    assert offender_box_at(late, 1.6) is not None  # one step (0.5 s) before his first point
    assert offender_box_at(late, 1.2) is None


def test_a_passer_by_in_his_place_after_his_track_ended_is_blurred():
    walker_box = (100.0, 60.0, 140.0, 220.0)
    case = _case("person", box=walker_box, times=[round(0.1 * i, 1) for i in range(6)])
    passer = Region(walker_box, "person")
    dets = [Detection(t, (passer,)) for t in (1.2, 1.3, 1.4)]
    out = _Redactor(case, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 1.3)
    assert out is not None
    assert _detail(out, (104, 100, 136, 200)) < 0.35 * _detail(_texture(), (104, 100, 136, 200))
    assert not np.any((out[..., 2] > 200) & (out[..., 0] < 60) & (out[..., 1] < 60))  # no red outline on him
