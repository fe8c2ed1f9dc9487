"""Class-wise NMS and the letterbox transform."""

from __future__ import annotations

import numpy as np
import pytest

from detector.models.letterbox import PAD_VALUE, letterbox
from detector.models.nms import batched_nms, box_iou, nms


def test_box_iou():
    iou = box_iou(np.array([0, 0, 10, 10.0]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30.0]]))
    np.testing.assert_allclose(iou, [1.0, 50 / 150, 0.0])


def test_nms_suppresses_overlaps_and_orders_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.5, 0.9, 0.7, 0.4], np.float32)
    assert nms(boxes, scores, 0.45).tolist() == [1, 2]
    assert nms(boxes, scores, 0.95).tolist() == [1, 2, 0, 3]  # nothing overlaps that much


def test_batched_nms_only_compares_within_a_class():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 1, 0])
    assert batched_nms(boxes, scores, classes, 0.45).tolist() == [0, 1]
    assert batched_nms(boxes[:0], scores[:0], classes[:0], 0.45).tolist() == []
    assert batched_nms(boxes, scores, np.array([0, 1, 2]), 0.45, max_det=2).tolist() == [0, 1]


@pytest.mark.parametrize(("frame_h", "frame_w"), [(540, 960), (1280, 720), (416, 416), (100, 300)])
def test_letterbox_round_trip_and_placement(frame_h, frame_w):
    frame = np.zeros((frame_h, frame_w, 3), np.uint8)
    x1, y1, x2, y2 = frame_w // 4, frame_h // 3, frame_w // 2, frame_h // 2
    frame[y1:y2, x1:x2] = (255, 0, 0)  # pure blue in BGR
    blob, box = letterbox(frame, (416, 416))
    assert blob.shape == (1, 3, 416, 416) and blob.dtype == np.float32

    boxes = np.array([[x1, y1, x2, y2], [0, 0, frame_w, frame_h]], np.float32)
    np.testing.assert_allclose(box.to_frame(box.to_input(boxes)), boxes, atol=1e-3)

    # the blue patch lands where to_input says, in the blue (last, RGB) channel
    ix1, iy1, ix2, iy2 = box.to_input(boxes[:1])[0]
    cx, cy = int((ix1 + ix2) / 2), int((iy1 + iy2) / 2)
    assert blob[0, :, cy, cx].tolist() == [0.0, 0.0, 1.0]
    # the whole frame maps to a centred rectangle touching two opposite sides
    fx1, fy1, fx2, fy2 = box.to_input(boxes[1:])[0]
    assert min(fx1, fy1) == pytest.approx(0, abs=1) and max(fx2, fy2) == pytest.approx(416, abs=1)
    assert fx1 + fx2 == pytest.approx(416, abs=1) and fy1 + fy2 == pytest.approx(416, abs=1)
    if fy1 > 2:  # grey padding above the picture
        assert blob[0, 0, 0, 208] == pytest.approx(PAD_VALUE / 255)


def test_to_frame_clips_to_the_frame():
    _, box = letterbox(np.zeros((100, 200, 3), np.uint8), (64, 64))
    out = box.to_frame(np.array([[-10, -10, 100, 100]], np.float32))
    np.testing.assert_allclose(out, [[0, 0, 200, 100]])
