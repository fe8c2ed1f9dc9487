"""The evidence sheet's pictures judge the offender's face as the published clip does. The sheet
kept every face whose centre lay in the offender's box: the driver's and a passer-by's seen
through an offending car, and a neighbour's just behind a walker, were left sharp on the
redacted sheet while the clip blurred them."""

from __future__ import annotations

from service.redaction import Region
from service.sheet_redaction import redact_picture

from tests.redaction.test_offender_shown import _detail, _texture

CAR = (60.0, 80.0, 260.0, 200.0)
WALKER = (100.0, 60.0, 140.0, 220.0)  # tall: his head area is x 108-132, y 60-100
HIS_FACE = Region((112.0, 62.0, 128.0, 78.0), "face")


def _finder(*regions: Region):
    return lambda picture: list(regions)


def test_a_face_in_an_offending_cars_box_is_blurred():
    driver = Region((150.0, 100.0, 166.0, 118.0), "face")  # centre in the car's box
    out = redact_picture(_texture(), [CAR], "bystanders", [_finder(Region(CAR, "vehicle"), driver)], "car")
    assert _detail(out, (152, 102, 164, 116)) < 0.35 * _detail(_texture(), (152, 102, 164, 116))
    assert _detail(out, (70, 160, 250, 195)) > 0.9 * _detail(_texture(), (70, 160, 250, 195))  # the car stays


def test_a_face_in_a_walkers_box_below_his_head_is_blurred_and_his_kept():
    neighbour = Region((104.0, 130.0, 118.0, 146.0), "face")  # centre in his box, far below his head
    out = redact_picture(_texture(), [WALKER], "bystanders",
                         [_finder(Region(WALKER, "person"), HIS_FACE, neighbour)], "person")
    assert _detail(out, (106, 132, 116, 144)) < 0.35 * _detail(_texture(), (106, 132, 116, 144))
    assert _detail(out, (114, 64, 126, 76)) > 0.9 * _detail(_texture(), (114, 64, 126, 76))


def test_with_no_finder_an_offending_cars_windows_are_blurred():
    out = redact_picture(_texture(), [CAR], "bystanders", [], "car")
    assert _detail(out, (100, 90, 220, 130)) < 0.35 * _detail(_texture(), (100, 90, 220, 130))  # above its bottom 40 %
    assert _detail(out, (70, 160, 250, 195)) > 0.9 * _detail(_texture(), (70, 160, 250, 195))


def test_a_neighbours_face_over_his_is_blurred_again_after_his_is_put_back():
    neighbour = Region((122.0, 74.0, 136.0, 90.0), "face")  # overlaps his face, centre below his head area's middle
    finder = _finder(Region(WALKER, "person"), HIS_FACE, neighbour)
    out = redact_picture(_texture(), [WALKER], "bystanders", [finder], "person")
    assert _detail(out, (122, 74, 132, 82)) < 0.35 * _detail(_texture(), (122, 74, 132, 82))  # under his put-back face
