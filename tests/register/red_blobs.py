"""A scripted detector for registration tests: the real ground is shown in grey and the objects
are painted saturated red, so what is found depends on registration alone, not on a model."""

from __future__ import annotations

import cv2
import numpy as np

from detector.types import Detections


class RedBlobs:
    """An object of one class wherever the picture is saturated red."""

    input_size = (128, 128)
    iou = 0.45

    def __init__(self, class_id: int, class_name: str) -> None:
        self.class_id = class_id
        self.class_names = {class_id: class_name}
        self.name = f"red-{class_name}"

    def detect(self, frame: np.ndarray) -> Detections:
        b, g, r = (frame[..., i].astype(int) for i in range(3))
        mask = ((r > 150) & (g < 90) & (b < 90)).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:n] if area > 100]
        return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32),
                          np.full(len(boxes), self.class_id, np.int64), self.class_names)
