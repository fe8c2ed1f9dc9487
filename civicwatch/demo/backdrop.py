"""The drawn street the sprites move over: asphalt, kerbs, zebra, bike lane, no-parking box.

Everything here is static (drawn once per build) so the background model sees a still scene; the
only thing that changes per frame besides the sprites is the pedestrian lamp, drawn by
``draw_signal_head``. Noise comes from a seeded generator so the picture is the same every build.
"""

from __future__ import annotations

import cv2
import numpy as np

from civicwatch.demo.recipe import LayoutSpec


def _texture(rng: np.random.Generator, shape: tuple[int, int], base: tuple[int, int, int], amp: float, blur: int) -> np.ndarray:
    noise = rng.normal(0.0, 1.0, shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), blur) * (amp / max(1e-6, float(noise.std() or 1.0)))
    fine = rng.normal(0.0, amp * 0.35, shape).astype(np.float32)
    img = np.array(base, np.float32)[None, None, :] + (noise + fine)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _paving(img: np.ndarray, y0: int, y1: int, x0: int, x1: int, tile: int, line: tuple[int, int, int]) -> None:
    for y in range(y0, y1, tile):
        cv2.line(img, (x0, y), (x1, y), line, 1)
    for row, y in enumerate(range(y0, y1, tile)):
        shift = (tile // 2) * (row % 2)
        for x in range(x0 + shift, x1, tile * 2):
            cv2.line(img, (x, y), (x, min(y1, y + tile)), line, 1)


def _arrow(img: np.ndarray, cx: int, cy: int, color: tuple[int, int, int]) -> None:
    """A painted lane arrow pointing right (the bike lane's legal direction)."""
    pts = np.array([[cx - 22, cy - 3], [cx + 6, cy - 3], [cx + 6, cy - 9], [cx + 22, cy], [cx + 6, cy + 9], [cx + 6, cy + 3], [cx - 22, cy + 3]], np.int32)
    cv2.fillPoly(img, [pts], color, cv2.LINE_AA)


def draw_backdrop(layout: LayoutSpec, size: tuple[int, int], seed: int) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(seed)
    img = _texture(rng, (h, w), (86, 88, 90), 7.0, 3)  # asphalt everywhere first

    # Building facade behind the far pavement, with windows and a door.
    top = layout.far_pavement_y[0]
    img[:top] = _texture(rng, (top, w), (118, 140, 168), 5.0, 4)
    for x in range(20, w, 78):
        for y in (14, 62):
            cv2.rectangle(img, (x, y), (x + 40, y + 34), (70, 64, 58), -1)
            cv2.rectangle(img, (x, y), (x + 40, y + 34), (200, 200, 196), 2)
    cv2.line(img, (0, top - 4), (w, top - 4), (96, 108, 124), 6)

    # Far pavement (grey slabs) with the plaza (warmer, finer tiles) on its left.
    fy0, fy1 = layout.far_pavement_y
    img[fy0:fy1] = _texture(rng, (fy1 - fy0, w), (150, 152, 150), 4.0, 2)
    _paving(img, fy0, fy1, 0, w, 16, (128, 130, 128))
    px0, py0, px1, py1 = layout.plaza
    img[py0:py1, px0:px1] = _texture(rng, (py1 - py0, px1 - px0), (150, 166, 178), 4.0, 2)
    _paving(img, py0, py1, px0, px1, 12, (128, 140, 152))

    # Kerbs.
    ry0, ry1 = layout.road_y
    cv2.rectangle(img, (0, ry0 - 4), (w, ry0 + 1), (190, 190, 186), -1)
    ny0, ny1 = layout.near_pavement_y
    img[ny0:ny1] = _texture(rng, (ny1 - ny0, w), (150, 152, 150), 4.0, 2)
    _paving(img, ny0 + 3, ny1, 0, w, 16, (128, 130, 128))
    cv2.rectangle(img, (0, ny0 - 1), (w, ny0 + 3), (190, 190, 186), -1)

    # Lane divider (dashed white) and bike lane (green surface, solid edge line, arrows).
    ly = layout.lane_divider_y
    for x in range(0, w, 40):
        cv2.line(img, (x, ly), (x + 22, ly), (225, 225, 225), 2)
    by0, by1 = layout.bike_lane_y
    lane = img[by0:by1].astype(np.int16)
    lane += np.array([-10, 14, -12], np.int16)
    img[by0:by1] = np.clip(lane, 0, 255).astype(np.uint8)
    cv2.line(img, (0, by0), (w, by0), (235, 235, 235), 2)
    cx0, cx1 = layout.crosswalk_x
    for cx in (60, 180, 470, 590):
        _arrow(img, cx, (by0 + by1) // 2, (235, 235, 235))

    # No-parking box: yellow outline with a criss-cross hatch, as painted at Chinese bus stops.
    bx0, by0b, bx1, by1b = layout.no_parking_box
    yellow = (30, 200, 235)
    cv2.rectangle(img, (bx0, by0b), (bx1 - 1, by1b), yellow, 2)
    hatch = np.zeros_like(img)
    for d in range(-(by1b - by0b), bx1 - bx0, 28):
        cv2.line(hatch, (bx0 + d, by0b), (bx0 + d + (by1b - by0b), by1b), yellow, 2)
        cv2.line(hatch, (bx0 + d + (by1b - by0b), by0b), (bx0 + d, by1b), yellow, 2)
    region = (slice(by0b, by1b), slice(bx0, bx1))
    m = hatch[region].any(axis=2)
    img[region][m] = hatch[region][m]

    # Zebra crossing: bars parallel to the traffic, from kerb to kerb.
    for y in range(ry0 + 4, ry1 - 4, 14):
        cv2.rectangle(img, (cx0, y), (cx1, y + 7), (232, 232, 230), -1)

    # Bus stop shelter on the far pavement.
    sx0, sy0, sx1, sy1 = layout.bus_stop
    cv2.rectangle(img, (sx0, sy0), (sx1, sy0 + 8), (60, 90, 40), -1)
    cv2.rectangle(img, (sx0 + 4, sy0 + 8), (sx1 - 4, sy1), (170, 190, 185), 1)
    cv2.rectangle(img, (sx1 - 34, sy0 + 14), (sx1 - 8, sy1 - 10), (40, 120, 200), -1)
    cv2.line(img, (sx0 + 4, sy1), (sx0 + 4, sy1 + 18), (90, 90, 90), 3)
    cv2.line(img, (sx1 - 4, sy1), (sx1 - 4, sy1 + 18), (90, 90, 90), 3)

    # Signal pole (the head itself is drawn per frame).
    x, y, hw, hh = layout.signal_head
    cv2.line(img, (x + hw // 2, y + hh), (x + hw // 2, ry0 - 2), (55, 55, 55), 4)
    return img


def draw_signal_head(img: np.ndarray, layout: LayoutSpec, color: str) -> None:
    """Dark box, red lamp on top and green below; the lit one bright, the other dim."""
    x, y, w, h = layout.signal_head
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (24, 24, 24), -1)
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (70, 70, 70), 1)
    r = min(w, h // 2) // 2 - 2
    red_on, green_on = color == "red", color == "green"
    cv2.circle(img, (x + w // 2, y + h // 4), r, (40, 40, 255) if red_on else (30, 30, 70), -1, cv2.LINE_AA)
    cv2.circle(img, (x + w // 2, y + 3 * h // 4), r, (120, 255, 60) if green_on else (30, 60, 30), -1, cv2.LINE_AA)
