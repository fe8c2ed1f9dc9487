"""Class-wise non-maximum suppression in numpy.

Plain numpy rather than cv2.dnn so that it has no hidden dependence on OpenCV build options and
is easy to test; after the confidence filter there are rarely more than a few hundred boxes.
"""

from __future__ import annotations

import numpy as np


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` xyxy box with each row of ``(M, 4)``."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of kept boxes, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(xyxy[best], xyxy[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float, max_det: int = 300
) -> np.ndarray:
    """NMS within each class only: a person standing in front of a car keeps both boxes.

    Boxes of different classes are shifted apart by a class-dependent offset so that one NMS pass
    never compares them (the usual trick; same result as a loop over classes).
    """
    if len(xyxy) == 0:
        return np.zeros((0,), dtype=np.int64)
    span = float(np.max(xyxy)) - float(np.min(xyxy)) + 1.0
    shifted = xyxy + (class_ids.astype(np.float64) * span)[:, None]
    return nms(shifted, scores, iou_threshold)[:max_det]
