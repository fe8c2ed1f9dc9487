"""One offender has one face. Every face whose centre lay in the offender's head area was taken
for his and published sharp: someone just behind or beside him, face next to his, reached the
public screen unblurred. His face is the one nearest where his head is (with the other finders'
boxes of that same face); any other face there is blurred, over his where the two overlap. A face
in the head area of another person found beside him is that person's, even when it is nearer
the top centre of his box than his own (a walker seen side on)."""

from __future__ import annotations

import numpy as np

from service.redaction import Region, _Redactor
from service.redaction_track import Detection, Timeline, own_faces

from tests.redaction.test_offender_shown import H, W, _detail, _texture

WALKER = (100.0, 60.0, 140.0, 220.0)  # tall: his face area is x 108-132, y 60-100
HIS_FACE = Region((112.0, 62.0, 128.0, 78.0), "face")
HIS_FACE_HAAR = Region((113.0, 63.0, 129.0, 80.0), "face")  # the same face, found by a second finder
NEIGHBOUR_FACE = Region((124.0, 80.0, 136.0, 94.0), "face")  # centre (130, 87): in his face area
CASE = {"frame_size": [W, H], "object_class": "person",
        "offender_track": [{"t": 0.0, "box": list(WALKER)}, {"t": 1.0, "box": list(WALKER)}]}


def _published(*faces: Region, others: tuple[Region, ...] = ()) -> np.ndarray:
    dets = [Detection(t, (Region(WALKER, "person"), *others, *faces)) for t in (0.4, 0.5, 0.6)]
    out = _Redactor(CASE, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.5)
    assert out is not None
    return out


def test_a_face_beside_his_is_blurred_and_his_stays_sharp():
    sharp = _detail(_texture(), (112, 62, 128, 73))
    out = _published(HIS_FACE, HIS_FACE_HAAR, NEIGHBOUR_FACE)
    assert _detail(out, (125, 81, 135, 93)) < 0.35 * sharp  # the neighbour's face
    assert _detail(out, (112, 62, 128, 73)) > 0.9 * sharp  # his, where the neighbour's blur does not reach
    assert _detail(out, (104, 120, 136, 210)) > 0.9 * _detail(_texture(), (104, 120, 136, 210))  # his body


def test_his_face_found_twice_is_still_his():
    assert set(map(id, own_faces((HIS_FACE, HIS_FACE_HAAR, NEIGHBOUR_FACE), WALKER, "person"))) == {
        id(HIS_FACE), id(HIS_FACE_HAAR)}
    out = _published(HIS_FACE, HIS_FACE_HAAR)
    assert _detail(out, (112, 62, 128, 80)) > 0.9 * _detail(_texture(), (112, 62, 128, 80))


def test_his_face_is_the_one_where_his_head_is():
    assert own_faces((NEIGHBOUR_FACE, HIS_FACE), WALKER, "person") == (HIS_FACE,)
    assert own_faces((HIS_FACE,), WALKER, "car") == ()  # a car's box holds no face of the offender


def test_a_neighbours_face_nearer_his_box_centre_is_the_neighbours():
    """Seen side on, the walker's face is at the edge of his head area; the man just behind him
    (his own box found beside the walker's) shows his face nearer the walker's top centre. That
    face was taken for the walker's and published sharp, and the walker's own face blurred."""
    his_side_on = Region((104.0, 60.0, 116.0, 74.0), "face")  # centre (110, 67): at the edge of his head area
    behind = Region((125.0, 70.0, 137.0, 82.0), "face")  # centre (131, 76): nearer his top centre (120, 76)
    behind_body = Region((120.0, 64.0, 170.0, 200.0), "person")  # the man behind: head area x 130-160, y 64-98
    assert own_faces((his_side_on, behind, behind_body), WALKER, "person") == (his_side_on,)
    out = _published(his_side_on, behind, others=(behind_body,))
    assert _detail(out, (127, 72, 135, 80)) < 0.35 * _detail(_texture(), (127, 72, 135, 80))  # the neighbour's face
    assert _detail(out, (104, 60, 112, 70)) > 0.9 * _detail(_texture(), (104, 60, 112, 70))  # his, clear of the neighbour's blur


def test_no_face_is_his_when_each_is_someone_elses():
    behind_body = Region((120.0, 64.0, 170.0, 200.0), "person")
    behind = Region((125.0, 70.0, 137.0, 82.0), "face")
    assert own_faces((behind, behind_body), WALKER, "person") == ()


def test_his_face_between_two_detections_stays_his():
    """The face between two detections (interpolated) is his when it is his where he is now. It was
    judged by the earlier detection's head area, which it had not yet entered there (his box moved
    right, his face at its edge): taken for a neighbour's, it was blurred over the face the nearer
    detection put back (seen on a real corridor clip: a walker's own head blurred for a frame)."""
    moving = dict(CASE, offender_track=[{"t": 0.5, "box": [100.0, 60.0, 140.0, 220.0]},
                                        {"t": 0.6, "box": [110.0, 60.0, 150.0, 220.0]}])
    face = Region((128.0, 62.0, 144.0, 78.0), "face")  # centre x 136: outside his head area at 0.5, inside at 0.6
    dets = [Detection(0.5, (face,)), Detection(0.6, (face,))]
    out = _Redactor(moving, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.58)
    assert out is not None
    assert _detail(out, (130, 64, 142, 76)) > 0.9 * _detail(_texture(), (130, 64, 142, 76))


def test_a_face_just_beside_his_head_area_is_not_put_back_with_his():
    """A neighbour's face centred just outside his head area but overlapping his face's box: his
    face, put back after every blur, uncovered half of it; only faces centred in his head area
    were blurred again."""
    beside = Region((126.0, 60.0, 142.0, 76.0), "face")  # centre x 134: outside his head area (x 108-132)
    out = _published(HIS_FACE, beside)
    assert _detail(out, (126, 60, 134, 76)) < 0.35 * _detail(_texture(), (126, 60, 134, 76))


def test_his_face_is_put_back_where_he_is_now():
    """A fast rider passes a standing bystander whose face was hidden behind his head at one
    detection and found at the next. His face was put back where it was at the nearest detection:
    on the frame between, that was the bystander's face, shown sharp."""
    def body(x: float) -> tuple[float, float, float, float]:
        return (x, 60.0, x + 40.0, 220.0)

    def face(x: float) -> Region:
        return Region((x + 12.0, 62.0, x + 28.0, 78.0), "face")

    case = {"frame_size": [W, H], "object_class": "rider",
            "offender_track": [{"t": 0.1 * i, "box": list(body(100.0 + 40 * i))} for i in range(3)]}
    bystander = Region((112.0, 62.0, 128.0, 78.0), "face")  # where his face was at 0.0 s
    dets = [Detection(0.0, (Region(body(100.0), "person"), face(100.0))),
            Detection(0.1, (Region(body(140.0), "person"), face(140.0), bystander)),
            Detection(0.2, (Region(body(180.0), "person"), face(180.0), bystander))]
    out = _Redactor(case, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))(_texture(), 0.04)
    assert out is not None
    assert _detail(out, (112, 62, 128, 78)) < 0.5 * _detail(_texture(), (112, 62, 128, 78))


def test_someone_passing_in_front_of_his_head_between_two_detections_drops_the_frame():
    """The finders failed on the two detections between 0.0 and 0.3 s (allowed: each side's
    nearest success is 0.15 s away); a jogger passes in front of him meanwhile. Interpolated to
    0.15 s, the jogger covers his head: such a box was neither a reason to leave the frame out nor
    blurred, and the jogger's face, its centre in his, was put back as "his face"."""
    def jogger(x: float) -> tuple[Region, Region]:
        return Region((x, 60.0, x + 40.0, 220.0), "person"), Region((x + 8.0, 62.0, x + 24.0, 78.0), "face")

    # beside his head at 0.0 and 0.3 s (under half of his head area each), over it at 0.15 s
    dets = [Detection(0.0, (Region(WALKER, "person"), HIS_FACE, *jogger(78.0))),
            Detection(0.1, None), Detection(0.2, None),
            Detection(0.3, (Region(WALKER, "person"), HIS_FACE, *jogger(122.0)))]
    redact = _Redactor(CASE, "bystanders", finders=[lambda f: []], timeline=Timeline(dets))
    assert redact(_texture(), 0.15) is None
    assert redact.dropped == [(0.15, "a bystander stands over the offender")]
