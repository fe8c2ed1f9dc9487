"""Letterboxing: fit a frame into the square model input without distorting it, and undo it.

Done once per frame on the CPU; the inverse maps model-input boxes back to the frame's own
pixels, so nothing downstream sees the model's input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # the grey ultralytics pads with; Darknet's 127 makes no measurable difference


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed into the model input: ``input = frame * scale + pad`` per axis.

    The two scales differ slightly because the resized picture has whole-pixel sides; using
    each axis' own scale keeps the round trip exact instead of off by up to a pixel.
    """

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    frame_w: int
    frame_h: int

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Model-input xyxy boxes -> frame pixels, clipped to the frame."""
        out = np.asarray(xyxy, dtype=np.float32).copy()
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.pad_x) / self.scale_x).clip(0, self.frame_w)
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.pad_y) / self.scale_y).clip(0, self.frame_h)
        return out

    def to_input(self, xyxy: np.ndarray) -> np.ndarray:
        """Frame-pixel xyxy boxes -> model-input pixels (for tests and drawing)."""
        out = np.asarray(xyxy, dtype=np.float32).copy()
        out[:, [0, 2]] = out[:, [0, 2]] * self.scale_x + self.pad_x
        out[:, [1, 3]] = out[:, [1, 3]] * self.scale_y + self.pad_y
        return out


def letterbox(frame_bgr: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """``(1, 3, H, W)`` float32 RGB blob in [0, 1] and the transform that produced it."""
    in_h, in_w = size
    frame_h, frame_w = frame_bgr.shape[:2]
    scale = min(in_h / frame_h, in_w / frame_w)
    new_w, new_h = round(frame_w * scale), round(frame_h * scale)
    resized = frame_bgr if (new_w, new_h) == (frame_w, frame_h) else cv2.resize(
        frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    pad_x, pad_y = (in_w - new_w) // 2, (in_h - new_h) // 2
    canvas = np.full((in_h, in_w, 3), PAD_VALUE, dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) * (1.0 / 255.0)
    return np.ascontiguousarray(blob), Letterbox(new_w / frame_w, new_h / frame_h, pad_x, pad_y, frame_w, frame_h)
