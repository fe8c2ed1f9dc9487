"""Tiny hand-built ONNX models that emit a fixed output tensor, for testing decoders end to end
without any weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from detector.models.metadata import set_metadata


def constant_output_model(
    path: Path, output: np.ndarray, *, input_hw: tuple[int, int] = (64, 64), metadata: dict[str, str] | None = None
) -> Path:
    """A model with input ``images`` (1, 3, H, W) whose single output is always ``output``.

    The output is ``const + 0 * mean(images)`` so that the input is really used (onnxruntime
    would otherwise complain about, or prune, an unused input).
    """
    h, w = input_hw
    const = numpy_helper.from_array(output.astype(np.float32), "const")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["const", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[const, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if metadata:
        set_metadata(model, metadata)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
