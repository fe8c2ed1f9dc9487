"""Cut-outs from the real photographs: a BGR image plus an alpha mask, scaled for the frame.

The detector has to see real people and vehicles, so sprites keep the photo's pixels; only the
edges are softened (GrabCut with a fixed RNG seed, so the cut is the same on every machine)
and a few variants are made by recolouring (a red or green jacket, a grey pickup) so that not
every pedestrian is the same woman in blue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from civicwatch.demo.recipe import SpriteSpec


@dataclass(frozen=True)
class Sprite:
    """``image`` BGR uint8 (h, w, 3); ``alpha`` float32 (h, w) in 0..1; facing as in the photo."""

    image: np.ndarray
    alpha: np.ndarray
    faces: str

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]

    def mirrored(self) -> "Sprite":
        flip = {"left": "right", "right": "left"}.get(self.faces, self.faces)
        return Sprite(self.image[:, ::-1].copy(), self.alpha[:, ::-1].copy(), flip)


def _remove_dog(photo: np.ndarray) -> np.ndarray:
    """Make dog.jpg's bicycle whole: the dog sitting in front of it hides the front wheel.

    YOLOv3-tiny finds no bicycle in the untouched photo (it sees the dog). The dog's rectangle is
    refilled with clean wall and floor from the right of the porch, the front wheel is rebuilt
    from the (identical) rear wheel, and the fork and down tube are drawn back in frame red.
    """
    out = photo.copy()
    y0, y1, x0, x1 = 200, 440, 128, 314
    plate = np.concatenate([photo[y0:y1, 578:698]] * 2, axis=1)[:, : x1 - x0]
    out[222:y1, x0:x1] = plate[222 - y0 :]
    rear, front, r = (472, 330), (218, 329), 93
    patch = photo[rear[1] - r : rear[1] + r, rear[0] - r : rear[0] + r]
    yy, xx = np.mgrid[-r:r, -r:r]
    dist = np.hypot(xx, yy)
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    reddish = ((hsv[..., 0] < 10) | (hsv[..., 0] > 170)) & (hsv[..., 1] > 80)
    drivetrain = (hsv[..., 2] < 90) & (dist < 60)
    keep = (dist <= r) & ~((dist < r - 14) & (reddish | drivetrain))
    target = out[front[1] - r : front[1] + r, front[0] - r : front[0] + r]
    target[keep] = patch[keep]
    frame_red = (38, 32, 196)
    cv2.line(out, (244, 222), front, frame_red, 6, cv2.LINE_AA)
    cv2.line(out, (250, 235), (345, 335), frame_red, 9, cv2.LINE_AA)
    cv2.circle(out, front, 7, (60, 60, 60), -1, cv2.LINE_AA)
    return out


def _grabcut_mask(crop: np.ndarray) -> np.ndarray:
    """Person cut-out: GrabCut seeded with the crop border as background and a thin centre
    column (torso and legs of a person standing upright in the crop) as certain foreground;
    without that hint GrabCut drops dark trousers into the background."""
    cv2.setRNGSeed(12345)
    h, w = crop.shape[:2]
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[:, max(1, w // 5) : w - max(1, w // 5)] = cv2.GC_PR_FGD
    band = max(2, w // 10)
    mask[int(h * 0.12) : int(h * 0.93), w // 2 - band // 2 : w // 2 + band // 2 + 1] = cv2.GC_FGD
    mask[:2, :] = mask[-1:, :] = mask[:, :2] = mask[:, -2:] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(crop, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep the largest part only, close small holes: a sprite is one object.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = (labels == biggest).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return fg.astype(np.float32)


def _porch_key_mask(crop: np.ndarray) -> np.ndarray:
    """Bicycle cut-out: everything that is not the porch's yellow wall or white floor and ledge,
    so the street shows through the wheels."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0].astype(int), hsv[..., 1].astype(int), hsv[..., 2].astype(int)
    yellow = (hue >= 15) & (hue <= 40) & (sat > 50)
    pale = (sat < 45) & (val > 150)
    keep = ~(yellow | pale)
    # Above the porch ledge lies the street: there only the black bars and saddle and the red
    # frame belong to the bicycle.
    ledge = int(crop.shape[0] * 0.26)
    red = ((hue < 10) | (hue > 170)) & (sat > 80)
    keep[:ledge] &= (val[:ledge] < 80) | red[:ledge]
    keep = keep.astype(np.uint8)
    keep = cv2.morphologyEx(keep, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    keep = cv2.dilate(keep, np.ones((3, 3), np.uint8))
    return keep.astype(np.float32)


def _saturation_mask(crop: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    return (hsv[..., 1] > 60).astype(np.float32)


def _recolour_jacket(img: np.ndarray, hue: int) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    blue = (hsv[..., 0] > 95) & (hsv[..., 0] < 130) & (hsv[..., 1] > 90)
    hsv[..., 0][blue] = hue
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def make_sprite(spec: SpriteSpec, photo_path: Path) -> Sprite:
    photo = cv2.imread(str(photo_path), cv2.IMREAD_COLOR)
    if photo is None:
        raise ValueError(f"cannot read photo {photo_path}")
    if spec.repair == "remove_dog":
        photo = _remove_dog(photo)
    x1, y1, x2, y2 = spec.crop
    crop = photo[y1:y2, x1:x2].copy()
    if spec.mask == "grabcut":
        alpha = _grabcut_mask(crop)
    elif spec.mask == "saturation":
        alpha = _saturation_mask(crop)
    elif spec.mask == "porch_key":
        alpha = _porch_key_mask(crop)
    else:
        alpha = np.ones(crop.shape[:2], np.float32)
    if spec.jacket_hue is not None:
        crop = _recolour_jacket(crop, spec.jacket_hue)
    if spec.gain is not None:
        crop = np.clip(crop.astype(np.float32) * np.array(spec.gain, np.float32), 0, 255).astype(np.uint8)
    scale = spec.height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), spec.height)
    image = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)  # soft edge, no cut-out halo
    return Sprite(image, np.clip(alpha, 0.0, 1.0).astype(np.float32), spec.faces)
