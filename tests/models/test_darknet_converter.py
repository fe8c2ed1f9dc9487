"""The Darknet converter: numerics on a tiny network against a numpy Darknet reference, and the
real YOLOv3-tiny weights converted end to end."""

from __future__ import annotations

import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from detector.models.darknet import DarknetError, darknet_to_onnx, parse_cfg, read_weights
from detector.models.fetch import SOURCE_SHA_KEY
from detector.models.layouts import Layout
from detector.models.metadata import COCO_NAMES, LAYOUT_KEY, NAMES_KEY, parse_names, read_metadata

TINY_CFG = """
[net]
width=8
height=8
channels=3

[convolutional]   # 0: 8x8x4
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]         # 1: 4x4x4
size=2
stride=2

[convolutional]   # 2: 4x4x6
batch_normalize=1
filters=6
size=3
stride=1
pad=1
activation=leaky

[maxpool]         # 3: 4x4x6, the padded size=2 stride=1 pool
size=2
stride=1

[convolutional]   # 4: 2 anchors x (5 + 2 classes)
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]            # 5
mask = 2,3
anchors = 1,2, 3,4, 5,6, 7,8
classes=2
num=4

[route]           # 6 -> layer 2
layers = -4

[upsample]        # 7: 8x8x6
stride=2

[route]           # 8: 8x8x10
layers = -1, 0

[convolutional]   # 9
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]            # 10
mask = 0,1
anchors = 1,2, 3,4, 5,6, 7,8
classes=2
num=4
"""
ANCHORS = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class _Params:
    """Random Darknet parameters, handed out in file order and written as a .weights file."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.chunks: list[np.ndarray] = []

    def take(self, shape, low=-1.0, high=1.0) -> np.ndarray:
        values = self.rng.uniform(low, high, size=shape).astype(np.float32)
        self.chunks.append(values.ravel())
        return values

    def weights_file(self) -> bytes:
        header = np.array([0, 2, 0], "<i4").tobytes() + np.array([0], "<i8").tobytes()
        return header + np.concatenate(self.chunks).astype("<f4").tobytes()


def _conv(x, params: _Params, filters: int, size: int, bn: bool, leaky: bool):
    """Darknet's convolutional layer in plain numpy, batch norm NOT folded."""
    c = x.shape[0]
    bias = params.take(filters)
    if bn:
        scale = params.take(filters, 0.5, 1.5)
        mean = params.take(filters)
        var = params.take(filters, 0.1, 2.0)
    kernel = params.take((filters, c, size, size))
    pad = size // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(padded, (size, size), axis=(1, 2))  # c, H, W, k, k
    out = np.einsum("chwij,fcij->fhw", windows, kernel)
    if bn:
        out = (out - mean[:, None, None]) / (np.sqrt(var)[:, None, None] + 1e-6)
        out = out * scale[:, None, None]
    out = out + bias[:, None, None]
    return np.where(out > 0, out, 0.1 * out) if leaky else out


def _maxpool(x, size: int, stride: int):
    padding = size - 1
    begin, end = padding // 2, padding - padding // 2
    padded = np.pad(x, ((0, 0), (begin, end), (begin, end)), constant_values=-np.inf)
    windows = sliding_window_view(padded, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(3, 4))


def _yolo_reference(raw, mask, input_hw):
    """Loop-by-loop Darknet YOLO decoding: rows of cx, cy, w, h, obj*cls..."""
    channels, gh, gw = raw.shape
    per_anchor = channels // len(mask)
    rows = []
    for a, anchor_index in enumerate(mask):
        for y in range(gh):
            for x in range(gw):
                t = raw[a * per_anchor : (a + 1) * per_anchor, y, x]
                cx = (x + _sigmoid(t[0])) * input_hw[1] / gw
                cy = (y + _sigmoid(t[1])) * input_hw[0] / gh
                w = np.exp(t[2]) * ANCHORS[anchor_index, 0]
                h = np.exp(t[3]) * ANCHORS[anchor_index, 1]
                rows.append([cx, cy, w, h, *(_sigmoid(t[4]) * _sigmoid(t[5:]))])
    return np.array(rows, np.float32)


def _tiny_reference(image):
    params = _Params(seed=7)
    l0 = _conv(image, params, 4, 3, bn=True, leaky=True)
    l1 = _maxpool(l0, 2, 2)
    l2 = _conv(l1, params, 6, 3, bn=True, leaky=True)
    l3 = _maxpool(l2, 2, 1)
    l4 = _conv(l3, params, 14, 1, bn=False, leaky=False)
    l7 = np.repeat(np.repeat(l2, 2, axis=1), 2, axis=2)
    l8 = np.concatenate([l7, l0], axis=0)
    l9 = _conv(l8, params, 14, 1, bn=False, leaky=False)
    expected = np.concatenate([_yolo_reference(l4, [2, 3], (8, 8)), _yolo_reference(l9, [0, 1], (8, 8))])
    return expected, params.weights_file()


def test_tiny_network_matches_numpy_darknet_reference():
    image = np.random.default_rng(1).uniform(0, 1, size=(3, 8, 8)).astype(np.float32)
    expected, weights = _tiny_reference(image)
    model = darknet_to_onnx(TINY_CFG, weights, {0: "a", 1: "b"})
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"images": image[None]})
    assert out.shape == (1, 6, 4 * 4 * 2 + 8 * 8 * 2)
    np.testing.assert_allclose(out[0].T, expected, rtol=1e-4, atol=1e-4)


def test_yolo_mask_override_changes_only_box_sizes():
    image = np.random.default_rng(1).uniform(0, 1, size=(3, 8, 8)).astype(np.float32)
    _, weights = _tiny_reference(image)
    outs = []
    for masks in (None, [[2, 3], [1, 2]]):
        model = darknet_to_onnx(TINY_CFG, weights, yolo_masks=masks)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outs.append(session.run(None, {"images": image[None]})[0][0])
    second_head = slice(32, None)
    np.testing.assert_allclose(outs[0][:, :32], outs[1][:, :32])  # first head untouched
    np.testing.assert_allclose(outs[0][[0, 1, 4, 5], second_head], outs[1][[0, 1, 4, 5], second_head])
    # anchor 0 (1x2) became anchor 1 (3x4) for the first 64 boxes of the second head
    np.testing.assert_allclose(outs[1][2, 32:96] / outs[0][2, 32:96], 3.0, rtol=1e-5)


def test_weights_that_do_not_match_the_cfg_are_refused():
    image = np.zeros((3, 8, 8), np.float32)
    _, weights = _tiny_reference(image)
    with pytest.raises(DarknetError, match="ends early"):
        darknet_to_onnx(TINY_CFG, weights[:-4])
    with pytest.raises(DarknetError, match="left over"):
        darknet_to_onnx(TINY_CFG, weights + b"\0\0\0\0")


def test_parse_cfg_reports_bad_lines():
    with pytest.raises(DarknetError, match="line 2"):
        parse_cfg("[net]\nwidth 416\n")
    with pytest.raises(DarknetError, match=r"\[net\]"):
        parse_cfg("[convolutional]\nfilters=1\n")
    with pytest.raises(DarknetError, match="not supported"):
        darknet_to_onnx("[net]\nwidth=8\nheight=8\n[dropout]\nprobability=.5\n", np.zeros(5, "<i4").tobytes())


def test_real_yolov3_tiny_converts_with_every_weight_used(converted_model, darknet_wheel, manifest_default):
    # The converter raises on leftover or missing weights, so a converted file means the cfg
    # consumed the whole weights file; check the counts independently as well.
    with zipfile.ZipFile(darknet_wheel) as zf:
        version, params = read_weights(zf.read(manifest_default.members.weights.path))
    assert version[:2] == (0, 2)
    assert params.size == 8_858_734  # YOLOv3-tiny's published parameter count
    model = onnx.load(str(converted_model))
    onnx.checker.check_model(model)
    meta = read_metadata(model)
    names = parse_names(meta[NAMES_KEY])
    assert [names[i] for i in range(len(names))] == list(COCO_NAMES)
    assert meta[LAYOUT_KEY] == Layout.CXCYWH_SCORES.value
    assert meta[SOURCE_SHA_KEY] == manifest_default.members.weights.sha256
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 416, 416]
    # 13x13 and 26x26 heads with 3 anchors each
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == [1, 84, 3 * (13 * 13 + 26 * 26)]


# --- input size variants -------------------------------------------------------------------------


def test_with_input_size_changes_only_the_net_section():
    from detector.models.fetch import ModelFetchError, with_input_size

    cfg = "[net]\n# width=1\nwidth=416\nheight = 416\n\n[convolutional]\nwidth=3\n"
    changed = with_input_size(cfg, 608)
    assert changed == "[net]\n# width=1\nwidth=608\nheight = 608\n\n[convolutional]\nwidth=3\n"
    with pytest.raises(ModelFetchError, match="height"):
        with_input_size("[net]\nwidth=416\n[yolo]\n", 608)


def test_608_variant_has_608_grids(converted_608, manifest_default):
    model = onnx.load(str(converted_608))
    meta = read_metadata(model)
    assert converted_608.name == "yolov3-tiny-coco-608.onnx"
    assert meta["model_name"] == "yolov3-tiny-coco-608" and meta["imgsz"] == "[608, 608]"
    assert meta[SOURCE_SHA_KEY] == manifest_default.members.weights.sha256
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 608, 608]
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == [1, 84, 3 * (19 * 19 + 38 * 38)]


def _large(det, min_side: float = 96.0, min_conf: float = 0.5):
    w, h = det.xyxy[:, 2] - det.xyxy[:, 0], det.xyxy[:, 3] - det.xyxy[:, 1]
    return det.subset((np.sqrt(w * h) >= min_side) & (det.confidence >= min_conf))


@pytest.mark.integration
def test_608_finds_the_same_large_objects_as_416(default_detector, converted_608, footage_dir):
    import av
    import cv2

    from detector.detect import ObjectDetector
    from detector.models.nms import box_iou

    big = ObjectDetector(converted_608, conf=0.25, iou=0.45)
    with av.open(str(footage_dir / "beijing-intersection" / "uadetrac_overpass.mp4")) as container:
        junction = next(f for i, f in enumerate(container.decode(video=0)) if i == 30).to_ndarray(format="bgr24")
    lawn = cv2.imread(str(footage_dir / "litter" / "cctv_lawn_test1.jpg"))
    compared = 0
    for frame in (junction, lawn):
        small_in, large_in = default_detector.detect(frame), big.detect(frame)
        for box, cls in zip(_large(small_in).xyxy, _large(small_in).class_id):
            same_class = large_in.xyxy[large_in.class_id == cls]
            assert len(same_class) and box_iou(box, same_class).max() > 0.7, f"class {cls} at {box} not found at 608"
            compared += 1
    assert compared >= 3  # the taxi and the two people on the lawn at least
