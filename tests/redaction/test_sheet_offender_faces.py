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


def test_a_passer_by_in_front_of_the_object_left_is_blurred():
    """A litter picture's offender boxes are the litterer and the object he left; a passer-by in
    front of a large dumped object (inside its box, smaller) was "a part of him", kept sharp."""
    litterer = (20.0, 40.0, 60.0, 200.0)
    thing = (150.0, 40.0, 260.0, 230.0)
    passer = Region((180.0, 60.0, 220.0, 220.0), "person")
    face = Region((192.0, 62.0, 208.0, 78.0), "face")
    finder = _finder(Region(litterer, "person"), passer, face)
    out = redact_picture(_texture(), [litterer, thing], "bystanders", [finder], "person", objects=[thing])
    assert _detail(out, (194, 64, 206, 76)) < 0.35 * _detail(_texture(), (194, 64, 206, 76))
    assert _detail(out, (184, 100, 216, 210)) < 0.35 * _detail(_texture(), (184, 100, 216, 210))
    assert _detail(out, (24, 60, 56, 190)) > 0.9 * _detail(_texture(), (24, 60, 56, 190))  # the litterer


def test_a_finder_failing_on_the_sheet_leaves_the_sheet_unpublished(tmp_path):
    """A finder raising on a sheet picture failed the whole case's media (clip and still too), and
    the case stayed unpublishable; now only the sheet is left out, as for a sheet without layout."""
    import cv2

    from detector.evidence.sheet_record import SheetLayout, SheetPanel
    from service.sheet_redaction import published_sheet_jpeg

    sheet = tmp_path / "sheet.jpg"
    cv2.imwrite(str(sheet), _texture())
    layout = SheetLayout((320, 240), (SheetPanel("still", "offence", 1.0, (0, 0, 320, 200), (0, 200, 320, 40),
                                                 (WALKER,)),))

    def broken(picture):  # noqa: ANN001, ANN202
        raise RuntimeError("onnxruntime: out of memory")

    assert published_sheet_jpeg(sheet, {"sheet": layout.as_dict(), "object_class": "person"}, "bystanders",
                                [broken]) is None


def test_a_small_face_is_blurred_with_the_clips_least_margin():
    """A far bystander's face, 10 px wide, got 2 px of blur past its tight box on the sheet (20 %
    of its size) and 6 px in the clip; now the sheet grows it as the clip does."""
    far = Region((200.0, 100.0, 210.0, 110.0), "face")
    out = redact_picture(_texture(), [WALKER], "bystanders", [_finder(Region(WALKER, "person"), far)], "person")
    assert _detail(out, (212, 100, 215, 110)) < 0.5 * _detail(_texture(), (212, 100, 215, 110))  # 2-5 px past its box
