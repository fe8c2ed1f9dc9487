"""Convert a TensorFlow.js graph model (``model.json`` + weight shards) to ONNX, without TensorFlow.

Why our own converter: tf2onnx needs TensorFlow, far too heavy for the default install, and the
TF.js format is small: ``modelTopology.node`` is a TensorFlow GraphDef in JSON and
``weightsManifest`` says how the shards' bytes split into named (possibly quantised) constants.

Layouts: TF image ops are NHWC and ONNX's are NCHW. Rather than wrapping every op in transposes,
each TF tensor is carried as an ONNX tensor plus a pending permutation (``_Var``); a TF
``Transpose`` only changes that permutation, and a real ONNX ``Transpose`` is emitted only where an
op needs another layout. Graphs exported from PyTorch through onnx-tf (NCHW with a transpose
around every convolution) therefore come back with no transposes inside at all.

Only the ops the shipped models use are mapped (plus a few trivial neighbours); anything else
raises ``TfjsError`` naming the node, so a new model fails loudly rather than converting wrongly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from detector.models.darknet import IR_VERSION, OPSET, GraphBuilder

NHWC_FROM_NCHW = (0, 2, 3, 1)  # TF NHWC tensor = transpose(ONNX NCHW tensor, this)


class TfjsError(ValueError):
    """The TF.js model cannot be read or converted; the message names the node or weight."""


@dataclass(frozen=True)
class TfjsGraph:
    """A parsed TF.js graph model: GraphDef nodes, dequantised constants, signature."""

    nodes: list[dict[str, Any]]
    weights: dict[str, np.ndarray]
    inputs: dict[str, list[int]]  # placeholder name -> shape (-1 where unknown)
    outputs: dict[str, list[int]]  # signature output (``Identity:0``) -> shape


# --- reading -----------------------------------------------------------------------------------

_DTYPES = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "uint16": "<u2", "float16": "<f2", "bool": "u1"}


def read_weights(manifest: list[dict[str, Any]], shards: Mapping[str, bytes]) -> dict[str, np.ndarray]:
    """Named arrays from ``weightsManifest``; quantised weights are dequantised to their original type.

    Each group's shards are concatenated and its weights read back to back, as tfjs does. ``shards``
    maps the file names in ``paths`` to their bytes; a missing shard or a short buffer is an error.
    """
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            buffer = b"".join(shards[p] for p in group["paths"])
        except KeyError as err:
            raise TfjsError(f"weight shard {err.args[0]!r} is missing") from err
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            quant = spec.get("quantization")
            stored = quant["dtype"] if quant else spec["dtype"]
            if stored not in _DTYPES:
                raise TfjsError(f"weight {spec['name']}: dtype {stored} is not supported")
            dtype = np.dtype(_DTYPES[stored])
            count = int(np.prod(shape)) if shape else 1
            if offset + count * dtype.itemsize > len(buffer):
                raise TfjsError(f"weight {spec['name']}: shards end early")
            array = np.frombuffer(buffer, dtype, count, offset).reshape(shape)
            offset += count * dtype.itemsize
            if quant and stored in ("uint8", "uint16"):
                array = array.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            if quant and quant.get("original_dtype", "float32") == "int32":
                array = np.rint(array).astype(np.int32)
            out[spec["name"]] = array.astype(np.float32) if array.dtype == np.float16 else array.copy()
        if offset != len(buffer):
            raise TfjsError(f"weight group {group['paths']}: {len(buffer) - offset} bytes left over")
    return out


def _signature_shapes(entries: Mapping[str, Any]) -> dict[str, list[int]]:
    return {
        name: [int(d.get("size", -1)) for d in value.get("tensorShape", {}).get("dim", [])]
        for name, value in entries.items()
    }


def load_tfjs(model_json: bytes | str, shards: Mapping[str, bytes]) -> TfjsGraph:
    """Parse ``model.json`` and its shards (``shards`` keyed by the names in ``weightsManifest``)."""
    try:
        doc = json.loads(model_json)
        fmt = doc.get("format", "graph-model")
        nodes = doc["modelTopology"]["node"]
        manifest = doc["weightsManifest"]
        signature = doc.get("signature") or doc.get("userDefinedMetadata", {}).get("signature") or {}
        inputs = {n["name"]: [int(d.get("size", -1)) for d in n["attr"]["shape"]["shape"].get("dim", [])]
                  for n in nodes if n["op"] == "Placeholder"}  # fmt: skip
        outputs = _signature_shapes(signature.get("outputs", {}))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise TfjsError(f"not a TF.js graph model: {err!r}") from err
    if fmt != "graph-model":
        raise TfjsError(f"format {fmt!r} is not a graph model (layers models are not supported)")
    return TfjsGraph(nodes, read_weights(manifest, shards), inputs, outputs)


# --- node attributes ---------------------------------------------------------------------------


def _attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "list" in value:
        items = value["list"]
        return [int(i) for i in items.get("i", [])] or [base64.b64decode(s).decode() for s in items.get("s", [])]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    return default


def _split_ref(ref: str) -> tuple[str, int]:
    name, _, index = ref.partition(":")
    return name, int(index or 0)


# --- conversion --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Var:
    """A tensor computed in the ONNX graph: the TF tensor is ``transpose(onnx[name], perm)``."""

    name: str
    perm: tuple[int, ...]


def _compose(a: tuple[int, ...], b: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """``transpose(transpose(x, a), b) == transpose(x, _compose(a, b))``."""
    return tuple(a[i] for i in b)


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


_BINARY = {"Add": ("Add", np.add), "AddV2": ("Add", np.add), "BiasAdd": ("Add", np.add),
           "Sub": ("Sub", np.subtract), "Mul": ("Mul", np.multiply)}  # fmt: skip
_UNARY = {"Relu": "Relu", "Sigmoid": "Sigmoid"}
_PASS = {"Identity", "StopGradient"}
# Grappler's fused convolutions (TF.js converter output): a convolution, then ``fused_ops`` in order.
_FUSED_CONVS = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}


class _Converter:
    """Walks the GraphDef in dependency order, folding constant subgraphs in numpy."""

    def __init__(self, graph: TfjsGraph, builder: GraphBuilder, input_names: Mapping[str, str]) -> None:
        self.graph, self.b = graph, builder
        self.by_name = {n["name"]: n for n in graph.nodes}
        self.values: dict[tuple[str, int], _Var | np.ndarray] = {}
        self.done: set[str] = set(input_names)
        for placeholder, onnx_name in input_names.items():
            rank = len(graph.inputs[placeholder])
            self.values[(placeholder, 0)] = _Var(onnx_name, tuple(range(rank)))

    # Layout helpers ------------------------------------------------------------------------

    def in_layout(self, value: _Var | np.ndarray, perm: tuple[int, ...]) -> str:
        """ONNX tensor ``o`` with ``transpose(o, perm) == value`` (the TF tensor)."""
        inv = _inverse(perm)
        if isinstance(value, np.ndarray):
            array = value.astype(np.float32) if value.dtype.kind == "f" else value
            return self.b.const("const", np.transpose(array, inv))
        needed = _compose(value.perm, inv)
        if needed == tuple(range(len(needed))):
            return value.name
        return self.b.node("Transpose", [value.name], perm=list(needed))

    def const_for(self, array: np.ndarray, like: _Var) -> str:
        """A TF constant broadcast against ``like``, stored in ``like``'s ONNX layout."""
        rank = len(like.perm)
        array = np.asarray(array, np.float32).reshape((1,) * (rank - np.ndim(array)) + np.shape(array))
        return self.b.const("const", np.transpose(array, _inverse(like.perm)))

    # Walk ----------------------------------------------------------------------------------

    def value(self, ref: str) -> _Var | np.ndarray:
        name, index = _split_ref(ref)
        if name not in self.done:
            self._convert_from(name)
        if (name, index) not in self.values:
            raise TfjsError(f"node {name} has no output {index}")
        return self.values[(name, index)]

    def _convert_from(self, root: str) -> None:
        """Convert ``root`` and its unconverted inputs, depth first without recursion (graphs are deep).

        A node is "open" once its inputs have been pushed; meeting an open node again on the way
        down is a cycle. A node merely waiting on the stack (an input shared by two branches, as
        in a squeeze-and-excite block) is not.
        """
        stack, open_nodes = [root], set()
        while stack:
            name = stack[-1]
            if name in self.done:
                stack.pop()
                continue
            node = self.by_name.get(name)
            if node is None:
                raise TfjsError(f"graph refers to a missing node {name!r}")
            pending = [_split_ref(r)[0] for r in self._data_inputs(node) if _split_ref(r)[0] not in self.done]
            if pending and name not in open_nodes:
                if any(p in open_nodes for p in pending):
                    raise TfjsError(f"graph has a cycle through {name}")
                open_nodes.add(name)
                stack.extend(pending)
                continue
            if pending:
                raise TfjsError(f"graph has a cycle through {name}")
            stack.pop()
            open_nodes.discard(name)
            self._convert(node)
            self.done.add(name)

    @staticmethod
    def _data_inputs(node: dict[str, Any]) -> list[str]:
        return [r for r in node.get("input", []) if not r.startswith("^")]

    def _convert(self, node: dict[str, Any]) -> None:
        name, op = node["name"], node["op"]
        args = [self.value(r) for r in self._data_inputs(node)]
        try:
            result = self._op(node, op, args)
        except TfjsError:
            raise
        except (ValueError, IndexError, KeyError, TypeError) as err:
            raise TfjsError(f"node {name} ({op}): {err}") from err
        for index, value in enumerate(result if isinstance(result, list) else [result]):
            self.values[(name, index)] = value

    def _op(self, node: dict[str, Any], op: str, args: list[_Var | np.ndarray]) -> Any:
        name = node["name"]
        consts = all(isinstance(a, np.ndarray) for a in args)
        if op == "Const":
            if name not in self.graph.weights:
                raise TfjsError(f"constant {name} has no entry in weightsManifest")
            return self.graph.weights[name]
        if op == "Placeholder":
            raise TfjsError(f"placeholder {name} is not a model input")
        if op in _PASS:
            return args[0]
        if op in _BINARY:
            return self._binary(*_BINARY[op], args)
        if op == "Transpose":
            perm = [int(p) for p in args[1]]
            x = args[0]
            return np.transpose(x, perm) if isinstance(x, np.ndarray) else _Var(x.name, _compose(x.perm, perm))
        if op == "Cast" and consts:
            return args[0].astype({"DT_FLOAT": np.float32, "DT_INT32": np.int32}.get(_attr(node, "DstT"), np.int64))
        if op == "SparseToDense" and consts:
            indices, shape, values, default = args
            dense = np.full([int(s) for s in np.atleast_1d(shape)], default, dtype=values.dtype)
            if indices.size:
                idx = indices.reshape(-1, dense.ndim) if dense.ndim > 1 else indices.reshape(-1, 1)
                dense[tuple(idx.T)] = values
            return dense
        if op == "Reshape":
            shape = [int(s) for s in args[1]]
            if isinstance(args[0], np.ndarray):
                return args[0].reshape(shape)
            if 0 in shape:
                raise TfjsError(f"node {name}: reshape to a zero-sized shape")
            x = self.in_layout(args[0], tuple(range(len(args[0].perm))))
            out = self.b.node("Reshape", [x, self.b.const("shape", np.array(shape, np.int64))])
            return _Var(out, tuple(range(len(shape))))
        if op == "ConcatV2":
            axis, parts = int(args[-1]), args[:-1]
            if all(isinstance(p, np.ndarray) for p in parts):
                return np.concatenate(parts, axis=axis)
            like = next(p for p in parts if isinstance(p, _Var))
            rank = len(like.perm)
            out = self.b.node("Concat", [self.in_layout(p, like.perm) for p in parts], axis=like.perm[axis % rank])
            return _Var(out, like.perm)
        if consts:
            raise TfjsError(f"node {name}: cannot fold a constant {op}")
        x = args[0]
        assert isinstance(x, _Var)
        if op in _UNARY:
            return _Var(self.b.node(_UNARY[op], [x.name]), x.perm)
        if op == "LeakyRelu":
            return _Var(self.b.node("LeakyRelu", [x.name], alpha=float(_attr(node, "alpha", 0.2))), x.perm)
        if op in ("Pad", "PadV2"):
            return self._pad(x, args)
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            return self._conv(node, x, args[1])
        if op in _FUSED_CONVS:
            return self._fused_conv(node, x, args[1:])
        if op == "Relu6":
            return self._relu6(x)
        if op == "Mean":
            return self._mean(node, x, args[1])
        if op == "MaxPool":
            return self._spatial(node, x, lambda t, **k: self.b.node("MaxPool", [t], **k), _attr(node, "ksize"))
        if op in ("ResizeBilinear", "ResizeNearestNeighbor"):
            return self._resize(node, x, args[1])
        if op in ("SplitV", "Split"):
            return self._split(node, args)
        raise TfjsError(f"node {name}: op {op} is not supported by this converter")

    # Op groups -----------------------------------------------------------------------------

    def _binary(self, onnx_op: str, fold, args: list[_Var | np.ndarray]) -> _Var | np.ndarray:
        a, c = args
        if isinstance(a, np.ndarray) and isinstance(c, np.ndarray):
            return fold(a, c)
        like = a if isinstance(a, _Var) else c
        assert isinstance(like, _Var)
        names = [self.const_for(v, like) if isinstance(v, np.ndarray) else self.in_layout(v, like.perm) for v in (a, c)]
        return _Var(self.b.node(onnx_op, names), like.perm)

    def _pad(self, x: _Var, args: list[_Var | np.ndarray]) -> _Var:
        paddings = np.asarray(args[1], np.int64).reshape(-1, 2)
        onnx_pads = paddings[list(_inverse(x.perm))]  # per ONNX axis
        inputs = [x.name, self.b.const("pads", np.concatenate([onnx_pads[:, 0], onnx_pads[:, 1]]))]
        if len(args) > 2:
            inputs.append(self.b.const("pad_value", np.asarray(args[2], np.float32).reshape(())))
        return _Var(self.b.node("Pad", inputs, mode="constant"), x.perm)

    def _image_layout(self, node: dict[str, Any]) -> tuple[tuple[int, ...], slice]:
        """The TF layout of an image op as a perm from NCHW, and where its H, W sit in TF lists."""
        fmt = _attr(node, "data_format", "NHWC")
        if fmt == "NHWC":
            return NHWC_FROM_NCHW, slice(1, 3)
        if fmt == "NCHW":
            return (0, 1, 2, 3), slice(2, 4)
        raise TfjsError(f"node {node['name']}: data_format {fmt} is not supported")

    def _spatial(self, node: dict[str, Any], x: _Var, make, window: list[int] | None, **extra) -> _Var:
        """Conv / pool: ONNX NCHW op with TF strides, dilations and VALID/SAME padding."""
        perm, hw = self._image_layout(node)
        padding = _attr(node, "padding", "VALID")
        if padding not in ("VALID", "SAME"):
            raise TfjsError(f"node {node['name']}: padding {padding} is not supported")
        attrs: dict[str, Any] = {"strides": _attr(node, "strides", [1, 1, 1, 1])[hw],
                                 "auto_pad": "SAME_UPPER" if padding == "SAME" else "VALID", **extra}  # fmt: skip
        if window is not None:
            attrs["kernel_shape"] = window[hw]
        dilations = _attr(node, "dilations")
        if dilations and any(d != 1 for d in dilations):
            attrs["dilations"] = dilations[hw]
        return _Var(make(self.in_layout(x, perm), **attrs), perm)

    def _conv(self, node: dict[str, Any], x: _Var, kernel: _Var | np.ndarray) -> _Var:
        if not isinstance(kernel, np.ndarray):
            raise TfjsError(f"node {node['name']}: only constant convolution kernels are supported")
        kh, kw, cin, cout = kernel.shape  # HWIO; depthwise: H, W, in, multiplier
        if node["op"] == "DepthwiseConv2dNative":
            weight = kernel.reshape(kh, kw, cin * cout, 1).transpose(2, 3, 0, 1)
            extra = {"group": cin}
        else:
            weight, extra = kernel.transpose(3, 2, 0, 1), {}
        w = self.b.const("conv_w", np.ascontiguousarray(weight, np.float32))
        return self._spatial(node, x, lambda t, **k: self.b.node("Conv", [t, w], **k), None, **extra)

    def _fused_conv(self, node: dict[str, Any], x: _Var, extra: list[_Var | np.ndarray]) -> _Var:
        """A convolution followed by its ``fused_ops`` (``BiasAdd`` and an activation); the
        bias Add is folded into the Conv by ``_fold_into_convs``."""
        fused = _attr(node, "fused_ops", []) or []
        out = self._conv({**node, "op": _FUSED_CONVS[node["op"]]}, x, extra[0])
        operands = list(extra[1:])
        for step in fused:
            if step == "BiasAdd":
                if not operands or not isinstance(operands[0], np.ndarray):
                    raise TfjsError(f"node {node['name']}: fused BiasAdd needs a constant bias")
                out = self._binary("Add", np.add, [out, operands.pop(0)])
            elif step == "Relu":
                out = _Var(self.b.node("Relu", [out.name]), out.perm)
            elif step == "Relu6":
                out = self._relu6(out)
            else:
                raise TfjsError(f"node {node['name']}: fused op {step} is not supported by this converter")
        return out

    def _relu6(self, x: _Var) -> _Var:
        low, high = self.b.const("zero", np.array(0.0, np.float32)), self.b.const("six", np.array(6.0, np.float32))
        return _Var(self.b.node("Clip", [x.name, low, high]), x.perm)

    def _mean(self, node: dict[str, Any], x: _Var, axes: _Var | np.ndarray) -> _Var:
        """``Mean`` over constant axes (squeeze-and-excite pooling); ``keep_dims`` keeps the layout."""
        if not isinstance(axes, np.ndarray):
            raise TfjsError(f"node {node['name']}: only constant reduction axes are supported")
        if not _attr(node, "keep_dims", False):
            raise TfjsError(f"node {node['name']}: Mean without keep_dims is not supported")
        rank = len(x.perm)
        onnx_axes = sorted(x.perm[int(a) % rank] for a in np.atleast_1d(axes))
        return _Var(self.b.node("ReduceMean", [x.name], axes=onnx_axes, keepdims=1), x.perm)

    def _resize(self, node: dict[str, Any], x: _Var, size: _Var | np.ndarray) -> _Var:
        if not isinstance(size, np.ndarray):
            raise TfjsError(f"node {node['name']}: only a constant resize size is supported")
        bilinear = node["op"] == "ResizeBilinear"
        if _attr(node, "align_corners", False):
            mode = "align_corners"
        elif _attr(node, "half_pixel_centers", False):
            mode = "half_pixel" if bilinear else "tf_half_pixel_for_nn"
        else:
            mode = "asymmetric"
        image = self.in_layout(x, NHWC_FROM_NCHW)
        n_c = self.b.node("Slice", [self.b.node("Shape", [image]), self.b.const("starts", np.array([0], np.int64)),
                                    self.b.const("ends", np.array([2], np.int64))])  # fmt: skip
        sizes = self.b.node("Concat", [n_c, self.b.const("hw", np.asarray(size, np.int64).reshape(2))], axis=0)
        nearest = "round_prefer_ceil" if mode == "align_corners" else "floor"
        out = self.b.node("Resize", [image, "", "", sizes], mode="linear" if bilinear else "nearest",
                          coordinate_transformation_mode=mode, **({} if bilinear else {"nearest_mode": nearest}))  # fmt: skip
        return _Var(out, NHWC_FROM_NCHW)

    def _split(self, node: dict[str, Any], args: list[_Var | np.ndarray]) -> list[_Var]:
        if node["op"] == "SplitV":
            x, sizes, axis = args
            if not isinstance(sizes, np.ndarray) or (np.asarray(sizes) < 0).any():
                raise TfjsError(f"node {node['name']}: SplitV needs constant, explicit sizes")
            split = [self.b.const("split", np.asarray(sizes, np.int64))]
        else:
            axis, x = args
            split = []
        assert isinstance(x, _Var)
        count = _attr(node, "num_split")
        onnx_axis = x.perm[int(axis) % len(x.perm)]
        outs = [self.b.name("split") for _ in range(count)]
        self.b.nodes.append(helper.make_node("Split", [x.name, *split], outs, name=outs[0], axis=onnx_axis))
        return [_Var(o, x.perm) for o in outs]


def _fold_into_convs(b: GraphBuilder, keep: set[str]) -> None:
    """Fold explicit ``Pad`` nodes and bias ``Add`` nodes into the Conv / MaxPool they feed.

    TF graphs pad with a separate op before a VALID convolution (onnx-tf writes one per conv);
    as ONNX nodes each is a full copy of the feature map, and onnxruntime does not fuse them.
    Only exact rewrites: zero padding into Conv, -inf padding into MaxPool (which ignores its own
    pads), spatial axes only, and a bias of shape (1, C, 1, 1) added to a Conv without one.
    """
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in b.initializers}
    uses: dict[str, int] = {}
    for node in b.nodes:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    producer = {node.output[0]: node for node in b.nodes}
    dropped: set[int] = set()
    for node in b.nodes:
        if node.op_type in ("Conv", "MaxPool") and node.input[0] in producer:
            pad = producer[node.input[0]]
            if pad.op_type != "Pad" or uses[pad.output[0]] != 1 or pad.output[0] in keep:
                continue
            pads = inits.get(pad.input[1])
            value = float(inits[pad.input[2]]) if len(pad.input) > 2 and pad.input[2] else 0.0
            wanted = 0.0 if node.op_type == "Conv" else -np.inf
            auto = next((a.s for a in node.attribute if a.name == "auto_pad"), b"VALID")
            if pads is None or len(pads) != 8 or pads[[0, 1, 4, 5]].any() or value != wanted or auto != b"VALID":
                continue
            kept = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
            del node.attribute[:]
            node.attribute.extend([*kept, helper.make_attribute("pads", [int(p) for p in pads[[2, 3, 6, 7]]])])
            node.input[0] = pad.input[0]
            dropped.add(id(pad))
        elif node.op_type == "Add" and len(node.input) == 2:
            conv_out, bias = node.input if node.input[0] in producer else node.input[::-1]
            conv = producer.get(conv_out)
            if conv is None or conv.op_type != "Conv" or len(conv.input) != 2 or uses[conv_out] != 1 or conv_out in keep:
                continue
            array = inits.get(bias)
            channels = inits[conv.input[1]].shape[0]
            if array is None or array.shape != (1, channels, 1, 1):
                continue
            conv.input.append(b.const("conv_b", array.reshape(channels)))
            conv.output[0] = node.output[0]
            dropped.add(id(node))
    b.nodes[:] = [n for n in b.nodes if id(n) not in dropped]
    used = {name for node in b.nodes for name in node.input}
    b.initializers[:] = [t for t in b.initializers if t.name in used]


def convert_graph(
    graph: TfjsGraph, builder: GraphBuilder, input_names: Mapping[str, str], outputs: list[str]
) -> list[str]:
    """Add ``graph``'s ops to ``builder``; returns ONNX tensors holding ``outputs`` in TF layout.

    ``input_names`` maps each TF placeholder to the ONNX input that feeds it. Only what the
    requested outputs depend on is converted. Call it on a fresh builder: the final clean-up
    pass rewrites every node in it.
    """
    conv = _Converter(graph, builder, input_names)
    result = []
    for ref in outputs:
        value = conv.value(ref)
        if isinstance(value, np.ndarray):
            raise TfjsError(f"output {ref} is a constant")
        result.append(conv.in_layout(value, tuple(range(len(value.perm)))))
    _fold_into_convs(builder, set(result))
    return result


def tfjs_to_onnx(graph: TfjsGraph, outputs: list[str] | None = None) -> onnx.ModelProto:
    """A plain ONNX model of ``graph``: float inputs named like the placeholders, one output per
    signature output (or ``outputs``), named without the ``:0``. For tests and inspection."""
    b = GraphBuilder()
    refs = outputs or sorted(graph.outputs)
    names = {p: p for p in graph.inputs}
    tensors = convert_graph(graph, b, names, refs)
    out_names = [_split_ref(r)[0].replace("/", "_") for r in refs]
    for tensor, out in zip(tensors, out_names):
        b.nodes.append(helper.make_node("Identity", [tensor], [out], name=f"out_{out}"))
    model_inputs = [helper.make_tensor_value_info(p, TensorProto.FLOAT, [d if d >= 0 else None for d in shape])
                    for p, shape in graph.inputs.items()]  # fmt: skip
    missing = [r for r in refs if r not in graph.outputs]
    if missing:
        raise TfjsError(f"outputs {missing} are not in the model's signature, so their shapes are unknown")
    model_outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, [d if d >= 0 else None for d in graph.outputs[r]])
                     for o, r in zip(out_names, refs)]  # fmt: skip
    model = helper.make_model(
        helper.make_graph(b.nodes, "tfjs", model_inputs, model_outputs, initializer=b.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="civicwatch",
    )  # fmt: skip
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
