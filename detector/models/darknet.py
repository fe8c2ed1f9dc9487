"""Convert a Darknet ``.cfg`` + ``.weights`` pair to an ONNX graph, without torch or cv2.dnn.

Why our own converter: OpenCV 5 dropped its Darknet importer and the usual converters go through
torch, which must stay out of the default install. The Darknet format is small: a list of
``[section]`` blocks and one flat float32 array of weights read in layer order.

The YOLO heads are decoded inside the graph (sigmoid xy/obj/cls, exp wh times anchors, per-scale
strides), so the converted model has the same output layout as an ultralytics YOLOv8 export,
``(1, 4 + nc, N)`` with cx, cy, w, h in input pixels followed by per-class scores
(objectness x class probability), and one decoder serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from detector.models.layouts import Layout
from detector.models.metadata import LAYOUT_KEY, NAMES_KEY, format_names, set_metadata

OPSET = 13
IR_VERSION = 8  # opset 13's IR version: readable by every onnxruntime we support
INPUT_NAME = "images"
OUTPUT_NAME = "output0"
LEAKY_SLOPE = 0.1
BN_EPSILON = 1e-6  # Darknet normalises with (x - mean) / (sqrt(var) + .000001)


class DarknetError(ValueError):
    """The cfg or weights cannot be converted; the message names the layer."""


@dataclass
class Section:
    """One ``[type]`` block of a cfg file with its raw ``key=value`` options."""

    type: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def int(self, key: str, default: int | None = None) -> int:
        return int(self._get(key, default))

    def float(self, key: str, default: float | None = None) -> float:
        return float(self._get(key, default))

    def str(self, key: str, default: str | None = None) -> str:
        return str(self._get(key, default)).strip()

    def ints(self, key: str) -> list[int]:
        return [int(v) for v in self._get(key, None).split(",") if v.strip()]

    def _get(self, key: str, default):
        if key in self.options:
            return self.options[key]
        if default is None:
            raise DarknetError(f"[{self.type}] at line {self.line}: missing '{key}'")
        return default


def parse_cfg(text: str) -> list[Section]:
    """Sections in file order; the first one is ``[net]``."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise DarknetError(f"line {number}: unterminated section header {line!r}")
            sections.append(Section(line[1:-1].strip().lower(), {}, number))
        elif "=" in line:
            if not sections:
                raise DarknetError(f"line {number}: option before any [section]")
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise DarknetError(f"line {number}: cannot read {line!r}")
    if not sections or sections[0].type not in ("net", "network"):
        raise DarknetError("cfg does not start with a [net] section")
    return sections


def read_weights(data: bytes) -> tuple[tuple[int, int, int], np.ndarray]:
    """Split a ``.weights`` file into its version and the flat float32 parameter array."""
    if len(data) < 16:
        raise DarknetError("weights file is too short to hold a header")
    major, minor, revision = np.frombuffer(data[:12], dtype="<i4")
    seen_bytes = 8 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else 4
    body = data[12 + seen_bytes :]
    if len(body) % 4:
        raise DarknetError("weights body is not a whole number of float32 values")
    return (int(major), int(minor), int(revision)), np.frombuffer(body, dtype="<f4")


@dataclass
class YoloHead:
    """One ``[yolo]`` layer: which anchors it uses and how many classes it scores."""

    anchors: np.ndarray  # (A, 2) width, height in input pixels
    num_classes: int
    scale_xy: float = 1.0


class GraphBuilder:
    """Collects ONNX nodes and initialisers under unique names (shared by our converters)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counter = 0

    def name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    def const(self, prefix: str, array: np.ndarray) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str | None = None, **attrs) -> str:
        out = self.name(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def add_yolo_decode(
    builder: GraphBuilder, head_output: str, head: YoloHead, grid_hw: tuple[int, int], input_hw: tuple[int, int]
) -> str:
    """Append the Darknet YOLO box decoding for one head; returns a ``(1, A*H*W, 4+nc)`` tensor.

    ``head_output`` is the raw convolution output ``(1, A*(5+nc), H, W)``. Boxes come out as
    cx, cy, w, h in input pixels, then ``sigmoid(obj) * sigmoid(cls)`` per class.
    """
    b = builder
    a, nc = len(head.anchors), head.num_classes
    gh, gw = grid_hw
    stride = np.array([input_hw[1] / gw, input_hw[0] / gh], dtype=np.float32)
    rows, cols = np.meshgrid(np.arange(gh, dtype=np.float32), np.arange(gw, dtype=np.float32), indexing="ij")
    grid = np.stack([cols, rows], axis=-1).reshape(1, 1, gh, gw, 2)
    anchors = head.anchors.astype(np.float32).reshape(1, a, 1, 1, 2)

    shaped = b.node("Reshape", [head_output, b.const("shape", np.array([1, a, 5 + nc, gh, gw], np.int64))])
    raw = b.node("Transpose", [shaped], perm=[0, 1, 3, 4, 2])  # (1, A, H, W, 5+nc)
    act = b.node("Sigmoid", [raw])

    def take(tensor: str, start: int, end: int) -> str:
        return b.node(
            "Slice",
            [tensor, b.const("starts", np.array([start], np.int64)), b.const("ends", np.array([end], np.int64)),
             b.const("axes", np.array([4], np.int64))],
        )  # fmt: skip

    xy = take(act, 0, 2)
    if head.scale_xy != 1.0:
        xy = b.node("Mul", [xy, b.const("scale_xy", np.array(head.scale_xy, np.float32))])
        xy = b.node("Sub", [xy, b.const("shift_xy", np.array(0.5 * (head.scale_xy - 1.0), np.float32))])
    xy = b.node("Add", [xy, b.const("grid", grid)])
    xy = b.node("Mul", [xy, b.const("stride", stride)])
    wh = b.node("Mul", [b.node("Exp", [take(raw, 2, 4)]), b.const("anchors", anchors)])
    scores = b.node("Mul", [take(act, 4, 5), take(act, 5, 5 + nc)])
    boxes = b.node("Concat", [xy, wh, scores], axis=4)
    return b.node("Reshape", [boxes, b.const("shape", np.array([1, a * gh * gw, 4 + nc], np.int64))])


def darknet_to_onnx(
    cfg_text: str,
    weights: bytes,
    names: dict[int, str] | None = None,
    *,
    yolo_masks: list[list[int]] | None = None,
) -> onnx.ModelProto:
    """Build the ONNX model for a Darknet network; input ``images`` (1, 3, H, W) RGB in [0, 1].

    ``yolo_masks`` replaces the ``mask`` of each ``[yolo]`` layer in order: the original
    YOLOv3-tiny weights were trained with ``mask = 1,2,3`` on the second head, while many copies
    of the cfg carry the "corrected" ``0,1,2``, which shrinks every box that head predicts.

    Batch normalisation is folded into the convolution weights (inference only). Every weight in
    the file must be consumed exactly, which catches a cfg that does not match its weights.
    """
    sections = parse_cfg(cfg_text)
    net = sections[0]
    in_h, in_w, in_c = net.int("height"), net.int("width"), net.int("channels", 3)
    _, params = read_weights(weights)
    offset = 0

    def take_params(count: int, what: str) -> np.ndarray:
        nonlocal offset
        if offset + count > params.size:
            raise DarknetError(f"weights file ends early while reading {what}")
        chunk = params[offset : offset + count]
        offset += count
        return chunk

    b = GraphBuilder()
    # Per layer: output tensor name, channels, height, width.
    outputs: list[tuple[str, int, int, int]] = []
    current = (INPUT_NAME, in_c, in_h, in_w)
    heads: list[str] = []
    num_boxes, num_classes = 0, 0
    for index, sec in enumerate(sections[1:]):
        tensor, c, h, w = current
        where = f"layer {index} [{sec.type}] (cfg line {sec.line})"
        if sec.type in ("convolutional", "conv"):
            filters, size, stride = sec.int("filters"), sec.int("size"), sec.int("stride", 1)
            groups = sec.int("groups", 1)
            pad = size // 2 if sec.int("pad", 0) else sec.int("padding", 0)
            bn = sec.int("batch_normalize", 0)
            bias = take_params(filters, f"{where} biases")
            if bn:
                scale = take_params(filters, f"{where} scales")
                mean = take_params(filters, f"{where} rolling mean")
                var = take_params(filters, f"{where} rolling variance")
            kernel = take_params(filters * (c // groups) * size * size, f"{where} weights")
            kernel = kernel.reshape(filters, c // groups, size, size).astype(np.float32)
            if bn:
                factor = scale / (np.sqrt(var) + BN_EPSILON)
                kernel = kernel * factor[:, None, None, None]
                bias = bias - mean * factor
            out = b.node(
                "Conv",
                [tensor, b.const("conv_w", kernel), b.const("conv_b", bias.astype(np.float32))],
                kernel_shape=[size, size], strides=[stride, stride], pads=[pad] * 4, group=groups,
            )  # fmt: skip
            out = _activation(b, out, sec.str("activation", "logistic"), where)
            h, w = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1
            current = (out, filters, h, w)
        elif sec.type in ("maxpool", "max"):
            size, stride = sec.int("size", 1), sec.int("stride", 1)
            padding = sec.int("padding", size - 1)
            # Darknet offsets the window by -padding/2 and lets it run past the far edge: the
            # size=2 stride=1 pool of YOLOv3-tiny keeps 13x13 by padding one cell at the end.
            begin, end = padding // 2, padding - padding // 2
            out = b.node("MaxPool", [tensor], kernel_shape=[size, size], strides=[stride, stride],
                         pads=[begin, begin, end, end])  # fmt: skip
            h, w = (h + padding - size) // stride + 1, (w + padding - size) // stride + 1
            current = (out, c, h, w)
        elif sec.type == "upsample":
            stride = sec.int("stride", 2)
            scales = b.const("scales", np.array([1, 1, stride, stride], np.float32))
            out = b.node("Resize", [tensor, "", scales], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")  # fmt: skip
            current = (out, c, h * stride, w * stride)
        elif sec.type == "route":
            if sec.int("groups", 1) != 1:
                raise DarknetError(f"{where}: grouped route is not supported")
            sources = [outputs[i if i >= 0 else index + i] for i in sec.ints("layers")]
            if len({(s[2], s[3]) for s in sources}) != 1:
                raise DarknetError(f"{where}: routed layers have different sizes")
            out = sources[0][0] if len(sources) == 1 else b.node("Concat", [s[0] for s in sources], axis=1)
            current = (out, sum(s[1] for s in sources), sources[0][2], sources[0][3])
        elif sec.type == "shortcut":
            source = outputs[sec.int("from") + (index if sec.int("from") < 0 else 0)]
            out = b.node("Add", [tensor, source[0]])
            current = (_activation(b, out, sec.str("activation", "linear"), where), c, h, w)
        elif sec.type == "yolo":
            mask = yolo_masks[len(heads)] if yolo_masks and len(heads) < len(yolo_masks) else sec.ints("mask")
            all_anchors = np.array(sec.ints("anchors"), np.float32).reshape(-1, 2)
            head = YoloHead(all_anchors[mask], sec.int("classes"), sec.float("scale_x_y", 1.0))
            if c != len(mask) * (5 + head.num_classes):
                raise DarknetError(f"{where}: input has {c} channels, expected {len(mask) * (5 + head.num_classes)}")
            if heads and head.num_classes != num_classes:
                raise DarknetError(f"{where}: heads disagree on the number of classes")
            heads.append(add_yolo_decode(b, tensor, head, (h, w), (in_h, in_w)))
            num_boxes, num_classes = num_boxes + len(mask) * h * w, head.num_classes
        else:
            raise DarknetError(f"{where}: layer type is not supported")
        outputs.append(current)

    if offset != params.size:
        raise DarknetError(f"weights file has {params.size - offset} values left over: cfg does not match")
    if not heads:
        raise DarknetError("cfg has no [yolo] layer")
    merged = heads[0] if len(heads) == 1 else b.node("Concat", heads, axis=1)
    b.nodes.append(helper.make_node("Transpose", [merged], [OUTPUT_NAME], perm=[0, 2, 1], name="to_channels_first"))
    return make_detection_model(b, (in_c, in_h, in_w), (4 + num_classes, num_boxes), names)


def _activation(b: GraphBuilder, tensor: str, kind: str, where: str) -> str:
    if kind == "leaky":
        return b.node("LeakyRelu", [tensor], alpha=LEAKY_SLOPE)
    if kind == "linear":
        return tensor
    if kind == "relu":
        return b.node("Relu", [tensor])
    if kind == "logistic":
        return b.node("Sigmoid", [tensor])
    if kind == "mish":
        return b.node("Mul", [tensor, b.node("Tanh", [b.node("Softplus", [tensor])])])
    raise DarknetError(f"{where}: activation '{kind}' is not supported")


def make_detection_model(
    b: GraphBuilder,
    input_chw: tuple[int, int, int],
    output_shape: tuple[int, int],
    names: dict[int, str] | None,
    graph_name: str = "darknet",
) -> onnx.ModelProto:
    """The checked model around ``b``: input ``images``, output ``output0`` in the CXCYWH_SCORES layout.

    Shared with the TF.js converter so that every converted model carries the same metadata and
    is read by the same decoder.
    """
    c, h, w = input_chw
    graph = helper.make_graph(
        b.nodes,
        graph_name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, c, h, w])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, *output_shape])],
        initializer=b.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="civicwatch")
    model.ir_version = IR_VERSION
    set_metadata(model, {
        LAYOUT_KEY: Layout.CXCYWH_SCORES.value,
        **({NAMES_KEY: format_names(names)} if names else {}),
        "imgsz": repr([h, w]),
        "task": "detect",
        "batch": "1",
    })  # fmt: skip
    onnx.checker.check_model(model)
    return model
