"""Output layout detection and the per-layout decoders, on arrays and on tiny ONNX graphs."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from detector.detect import DetectorError, ObjectDetector
from detector.models.darknet import GraphBuilder, YoloHead, add_yolo_decode
from detector.models.layouts import (
    Layout,
    LayoutError,
    decode_cxcywh_scores,
    decode_xyxy_score_class,
    detect_layout,
)
from detector.models.metadata import COCO_NAMES, LAYOUT_KEY, format_names

from .onnx_builders import constant_output_model


# --- (a) Darknet YOLO heads, decoded in the graph ------------------------------------------------


@pytest.mark.parametrize("scale_xy", [1.0, 1.05])
def test_yolo_head_decoding_graph_matches_darknet_formulas(scale_xy):
    a, nc, gh, gw, input_hw = 2, 3, 2, 3, (64, 96)
    anchors = np.array([[10.0, 14.0], [23.0, 27.0]], np.float32)
    b = GraphBuilder()
    out = add_yolo_decode(b, "head", YoloHead(anchors, nc, scale_xy), (gh, gw), input_hw)
    graph = helper.make_graph(
        b.nodes, "yolo", [helper.make_tensor_value_info("head", TensorProto.FLOAT, [1, a * (5 + nc), gh, gw])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], initializer=b.initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    raw = np.random.default_rng(3).normal(size=(1, a * (5 + nc), gh, gw)).astype(np.float32)
    (got,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"head": raw})
    assert got.shape == (1, a * gh * gw, 4 + nc)

    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    row = 0
    for anchor in range(a):
        for y in range(gh):
            for x in range(gw):
                t = raw[0, anchor * (5 + nc) : (anchor + 1) * (5 + nc), y, x]
                off = lambda v: sig(v) * scale_xy - 0.5 * (scale_xy - 1)  # noqa: E731
                expected = [
                    (x + off(t[0])) * 96 / gw,  # stride 32 across
                    (y + off(t[1])) * 64 / gh,  # stride 32 down
                    np.exp(t[2]) * anchors[anchor, 0],
                    np.exp(t[3]) * anchors[anchor, 1],
                    *(sig(t[4]) * sig(t[5:])),
                ]
                np.testing.assert_allclose(got[0, row], expected, rtol=1e-5, atol=1e-5)
                row += 1


# --- (b) ultralytics YOLOv8/YOLO11: (1, 4+nc, N) ------------------------------------------------


def test_decode_cxcywh_scores_takes_best_class_and_filters():
    #                 cx    cy   w   h   c0   c1   c2
    boxes = np.array([[50, 40, 20, 10, 0.1, 0.9, 0.3],
                      [10, 10, 4, 4, 0.2, 0.1, 0.15],   # below conf
                      [80, 20, 10, 30, 0.6, 0.0, 0.7]], np.float32)  # fmt: skip
    raw = decode_cxcywh_scores(boxes.T[None], conf=0.25)
    np.testing.assert_allclose(raw.xyxy, [[40, 35, 60, 45], [75, 5, 85, 35]])
    np.testing.assert_allclose(raw.scores, [0.9, 0.7])
    assert raw.class_ids.tolist() == [1, 2]
    with pytest.raises(LayoutError):
        decode_cxcywh_scores(boxes[None], conf=0.25)  # (1, N, 7) with N=3 < 5 rows


def test_ultralytics_layout_model_end_to_end(tmp_path):
    # input 64x64, frame 128 wide x 64 high: scale 0.5, padded 16 px top and bottom
    nc = 3
    out = np.zeros((1, 4 + nc, 4), np.float32)
    out[0, :, 0] = [32, 32, 20, 10, 0.9, 0, 0]  # centre of the input
    out[0, :, 1] = [33, 32, 20, 10, 0.0, 0.0, 0.8]  # same place, other class: NMS keeps it
    out[0, :, 2] = [33, 33, 20, 10, 0.7, 0, 0]  # overlaps box 0 in the same class: suppressed
    out[0, :, 3] = [5, 20, 4, 4, 0.1, 0.1, 0.1]  # too weak
    path = constant_output_model(tmp_path / "v8.onnx", out, metadata={"names": format_names({0: "car", 1: "bus", 2: "person"})})
    det = ObjectDetector(path, conf=0.25, iou=0.45)
    assert det.layout is Layout.CXCYWH_SCORES and det.input_size == (64, 64)
    result = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert result.names() == ["car", "person"]
    np.testing.assert_allclose(result.xyxy[0], [(22 - 0) / 0.5, (27 - 16) / 0.5, 42 / 0.5, (37 - 16) / 0.5])
    np.testing.assert_allclose(result.confidence, [0.9, 0.8], rtol=1e-6)


# --- (c) ultralytics YOLO26 / end-to-end: (1, N, 6) ---------------------------------------------


def test_decode_xyxy_score_class_drops_padding_rows():
    rows = np.array([[1, 2, 3, 4, 0.8, 2], [5, 6, 7, 8, 0.3, 0], [0, 0, 0, 0, 0, 0]], np.float32)
    raw = decode_xyxy_score_class(rows[None], conf=0.25)
    np.testing.assert_allclose(raw.xyxy, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert raw.class_ids.tolist() == [2, 0]


def test_end_to_end_model_keeps_overlapping_boxes(tmp_path):
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 10, 30, 50, 0.6, 0]  # two people side by side, heavily overlapping:
    rows[0, 1] = [12, 10, 32, 50, 0.9, 0]  # the model already de-duplicated; no second NMS
    path = constant_output_model(tmp_path / "e2e.onnx", rows, metadata={"names": format_names({0: "person"}), "end2end": "True"})
    det = ObjectDetector(path)
    assert det.layout is Layout.XYXY_SCORE_CLASS
    result = det.detect(np.zeros((64, 64, 3), np.uint8))
    assert len(result) == 2
    np.testing.assert_allclose(result.xyxy, [[12, 10, 32, 50], [10, 10, 30, 50]])


# --- layout detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "metadata", "num_names", "expected"),
    [
        ([[1, 84, 8400]], {}, 80, Layout.CXCYWH_SCORES),
        ([[1, 84, 8400]], {}, None, Layout.CXCYWH_SCORES),
        ([[1, 6, 8400]], {}, 2, Layout.CXCYWH_SCORES),  # 2 classes: 4+2 rows, not the e2e layout
        ([[1, 300, 6]], {}, 80, Layout.XYXY_SCORE_CLASS),
        ([[1, "n", 6]], {}, None, Layout.XYXY_SCORE_CLASS),
        ([[1, 300, 6]], {"end2end": "True"}, 2, Layout.XYXY_SCORE_CLASS),
        ([[1, 300, 6]], {LAYOUT_KEY: "cxcywh_scores"}, 2, Layout.CXCYWH_SCORES),
    ],
)
def test_detect_layout(shapes, metadata, num_names, expected):
    assert detect_layout(shapes, metadata, num_names) is expected


@pytest.mark.parametrize(
    "shapes", [[[1, 116, 8400], [1, 32, 160, 160]], [[1, 255, 13, 13]], [[1, 8400, 84]]]
)
def test_unknown_layouts_are_refused(shapes):
    with pytest.raises(LayoutError):
        detect_layout(shapes, {}, 80)


def test_unknown_layout_gives_detector_error(tmp_path):
    path = constant_output_model(tmp_path / "seg.onnx", np.zeros((1, 3, 5, 5), np.float32))
    with pytest.raises(DetectorError, match="seg.onnx"):
        ObjectDetector(path)


def test_missing_names_fall_back_to_coco_with_a_warning(tmp_path, caplog):
    path = constant_output_model(tmp_path / "anon.onnx", np.zeros((1, 84, 10), np.float32))
    with caplog.at_level(logging.WARNING):
        det = ObjectDetector(path)
    assert det.class_names[0] == "person" and len(det.class_names) == len(COCO_NAMES)
    assert "COCO names" in caplog.text
