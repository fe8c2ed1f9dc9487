"""Describe an ONNX model file without starting an inference session (for `models list`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from detector.models.layouts import Layout, detect_layout
from detector.models.metadata import NAMES_KEY, parse_names, read_metadata


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    layout: Layout | None
    num_classes: int | None
    input_shape: list[int | str | None]
    metadata: dict[str, str]
    problem: str | None = None


def _dims(value_info: onnx.ValueInfoProto) -> list[int | str | None]:
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims]


def describe_onnx(path: Path) -> ModelInfo:
    """Layout and class count of ``path``; ``problem`` says why a file cannot be used."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        return ModelInfo(path, None, None, [], {}, f"not a readable ONNX file: {err}")
    meta = read_metadata(model)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    input_shape = _dims(inputs[0]) if inputs else []
    names: dict[int, str] | None = None
    if NAMES_KEY in meta:
        try:
            names = parse_names(meta[NAMES_KEY])
        except (ValueError, SyntaxError):
            names = None
    outputs = [_dims(o) for o in model.graph.output]
    try:
        layout = detect_layout(outputs, meta, len(names) if names else None)
    except ValueError as err:
        return ModelInfo(path, None, len(names) if names else None, input_shape, meta, str(err))
    num_classes = len(names) if names else None
    if num_classes is None and layout is Layout.CXCYWH_SCORES and isinstance(outputs[0][1], int):
        num_classes = outputs[0][1] - 4
    return ModelInfo(path, layout, num_classes, input_shape, meta)
