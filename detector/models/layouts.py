"""Output layouts of detection models, and one small pure decoder per layout.

A decoder turns the raw output tensor into boxes in *model input* pixels (before the letterbox is
undone), scores and class ids, keeping only boxes at or above ``conf``. Which decoder applies is
read from the model: our own tag in the metadata first, then the output shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

import numpy as np

from detector.models.metadata import LAYOUT_KEY


class Layout(str, Enum):
    # (1, 4 + nc, N): cx, cy, w, h then one score per class. ultralytics YOLOv8/YOLO11 exports and
    # our converted Darknet models (whose heads are decoded in the graph).
    CXCYWH_SCORES = "cxcywh_scores"
    # (1, N, 6): x1, y1, x2, y2, score, class. ultralytics YOLO26 / end-to-end (NMS-free) exports.
    XYXY_SCORE_CLASS = "xyxy_score_class"

    @property
    def needs_nms(self) -> bool:
        """End-to-end models already keep one box per object; a second NMS would drop crowds."""
        return self is Layout.CXCYWH_SCORES


class LayoutError(ValueError):
    """The model's outputs match no layout this detector can decode."""


@dataclass(frozen=True)
class RawDetections:
    """Decoded boxes in model-input pixels, before NMS and before undoing the letterbox."""

    xyxy: np.ndarray  # (M, 4) float32
    scores: np.ndarray  # (M,) float32
    class_ids: np.ndarray  # (M,) int64


Dim = int | str | None


def detect_layout(output_shapes: Sequence[Sequence[Dim]], metadata: dict[str, str], num_names: int | None) -> Layout:
    """Pick the layout from our metadata tag, ultralytics' ``end2end`` flag, or the output shape."""
    if LAYOUT_KEY in metadata:
        try:
            return Layout(metadata[LAYOUT_KEY])
        except ValueError as err:
            raise LayoutError(f"unknown layout tag {metadata[LAYOUT_KEY]!r} in model metadata") from err
    if len(output_shapes) != 1:
        raise LayoutError(
            f"model has {len(output_shapes)} outputs {list(map(list, output_shapes))}; "
            "only single-output detection models are supported (not segmentation or pose)"
        )
    shape = list(output_shapes[0])
    if len(shape) != 3:
        raise LayoutError(f"output shape {shape} is not (batch, a, b)")
    _, d1, d2 = shape
    if str(metadata.get("end2end", "")).lower() == "true":
        return Layout.XYXY_SCORE_CLASS
    if num_names and d1 == 4 + num_names:
        return Layout.CXCYWH_SCORES
    if d2 == 6 and d1 != 6:
        return Layout.XYXY_SCORE_CLASS
    if isinstance(d1, int) and d1 > 4 and (not isinstance(d2, int) or d1 < d2):
        return Layout.CXCYWH_SCORES
    raise LayoutError(f"cannot tell the layout of output shape {shape}")


def decode_cxcywh_scores(output: np.ndarray, conf: float) -> RawDetections:
    """``(1, 4+nc, N)`` -> best class per box; boxes converted from centre/size to corners."""
    if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] < 5:
        raise LayoutError(f"expected (1, 4+nc, N), got {output.shape}")
    pred = output[0]
    class_scores = pred[4:]
    class_ids = class_scores.argmax(axis=0)
    scores = class_scores[class_ids, np.arange(pred.shape[1])]
    keep = scores >= conf
    cx, cy, w, h = pred[:4, keep]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return RawDetections(xyxy, scores[keep].astype(np.float32), class_ids[keep].astype(np.int64))


def decode_xyxy_score_class(output: np.ndarray, conf: float) -> RawDetections:
    """``(1, N, 6)`` -> rows at or above ``conf``; padding rows (score 0) fall away here."""
    if output.ndim != 3 or output.shape[0] != 1 or output.shape[2] != 6:
        raise LayoutError(f"expected (1, N, 6), got {output.shape}")
    pred = output[0]
    keep = pred[:, 4] >= conf
    pred = pred[keep]
    return RawDetections(
        pred[:, :4].astype(np.float32), pred[:, 4].astype(np.float32), np.rint(pred[:, 5]).astype(np.int64)
    )


DECODERS = {
    Layout.CXCYWH_SCORES: decode_cxcywh_scores,
    Layout.XYXY_SCORE_CLASS: decode_xyxy_score_class,
}


def decode(layout: Layout, output: np.ndarray, conf: float) -> RawDetections:
    return DECODERS[layout](output, conf)
