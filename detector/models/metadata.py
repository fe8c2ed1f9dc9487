"""Class names and layout tags stored in an ONNX model's ``metadata_props``.

Names use the same text form as ultralytics exports (``"{0: 'person', 1: 'bicycle'}"``) so that
a model exported by ultralytics and one converted here are read the same way.
"""

from __future__ import annotations

import ast

import onnx

NAMES_KEY = "names"
LAYOUT_KEY = "civicwatch_layout"

COCO_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


# Darknet's coco.names spells six classes the PASCAL VOC way; the rest of CivicWatch (rules, scene
# ``classes`` filters) speaks the ultralytics/COCO spelling, so converted models are renamed.
DARKNET_TO_COCO = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}


def normalise_darknet_names(names: list[str]) -> dict[int, str]:
    return {i: DARKNET_TO_COCO.get(name, name) for i, name in enumerate(names)}


def format_names(names: dict[int, str]) -> str:
    return repr({int(k): str(v) for k, v in sorted(names.items())})


def parse_names(text: str) -> dict[int, str]:
    """Read a names dict string; raises ValueError for anything that is not ``{int: str}``."""
    value = ast.literal_eval(text)
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or not all(
        isinstance(k, int) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"names metadata is not a {{int: str}} dict: {text[:80]!r}")
    return dict(value)


def read_metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    """Add or replace metadata entries, keeping the others."""
    merged = {**read_metadata(model), **values}
    del model.metadata_props[:]
    for key, value in merged.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
