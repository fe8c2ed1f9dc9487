"""Looking where the rules look: detection on crops around the scene's zones, merged with the frame.

A person 20 px tall on a far crosswalk shrinks to 8 px when a 960x540 frame is letterboxed into a
416 px model: below what a small detector can find. Cropping the region that holds the zones and
giving it to the model at model resolution shows that person at two or three times the size, so
the detector runs on the whole frame (to keep everything else tracked) *and* on tiles covering
the zones' region, and the boxes are merged.

Merging: tile boxes that touch a tile's inner edge are cut objects and are dropped (the frame pass
or the overlapping neighbour tile sees them whole); what is left goes through one class-wise NMS
with the frame's boxes. The whole-frame pass can run at a lower rate than the tiles
(``full_every``): objects far from every zone matter little to the rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.models.nms import batched_nms
from detector.types import Detections

Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels

EDGE_PX = 3.0  # a box this close to an inner tile edge was cut by it
MERGE_IOU = 0.5


class _Detector(Protocol):
    """What regions need of a detector (``ObjectDetector`` has it)."""

    input_size: tuple[int, int]
    class_names: dict[int, str]
    iou: float

    def detect(self, frame_bgr: np.ndarray) -> Detections: ...


def grid_tiles(region: Rect, cols: int, rows: int, overlap: float = 0.2) -> list[Rect]:
    """``cols x rows`` tiles covering ``region``, neighbours overlapping by ``overlap`` of a tile."""
    x1, y1, x2, y2 = region
    w, h = x2 - x1, y2 - y1
    tw = w / (cols - (cols - 1) * overlap) if cols > 1 else w
    th = h / (rows - (rows - 1) * overlap) if rows > 1 else h
    tiles = []
    for r in range(rows):
        for c in range(cols):
            tx = x1 + c * tw * (1 - overlap)
            ty = y1 + r * th * (1 - overlap)
            tiles.append((int(round(tx)), int(round(ty)), int(round(min(tx + tw, x2))), int(round(min(ty + th, y2)))))
    return tiles


def zone_region(polygons: Sequence[Sequence[tuple[float, float]]], frame_wh: tuple[int, int],
                margin: float = 0.15, min_margin_px: float = 48.0) -> Rect | None:
    """Bounding box of every zone, grown by ``margin`` of its size (people approach from outside)."""
    pts = np.array([p for poly in polygons for p in poly], dtype=np.float64)
    if pts.size == 0:
        return None
    fw, fh = frame_wh
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    mx = max(margin * (x2 - x1), min_margin_px)
    my = max(margin * (y2 - y1), min_margin_px)
    rect = (int(max(0, x1 - mx)), int(max(0, y1 - my)), int(min(fw, x2 + mx)), int(min(fh, y2 + my)))
    if rect[2] - rect[0] < 8 or rect[3] - rect[1] < 8:
        return None
    return rect


def _area(r: Rect) -> int:
    return max(0, r[2] - r[0]) * max(0, r[3] - r[1])


def _union(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def zone_regions(polygons: Sequence[Sequence[tuple[float, float]]], frame_wh: tuple[int, int],
                 max_regions: int = 4, waste: float = 1.5) -> list[Rect]:
    """One region per group of nearby zones, instead of one box around all of them.

    Two small zones at opposite ends of the picture (a far stop line and a kerb at the right edge)
    have a bounding box as large as the frame, and tiles over it zoom in on neither. So each zone
    gets its own region (``zone_region``), and two regions are merged while their union wastes
    little (its area at most ``waste`` times theirs together) or there are more than
    ``max_regions``, the pair whose union grows least going first.
    """
    regions = [r for poly in polygons if (r := zone_region([poly], frame_wh)) is not None]

    def growth(a: Rect, b: Rect) -> float:
        return _area(_union(a, b)) / max(_area(a) + _area(b), 1)

    while len(regions) > 1:
        pairs = [(growth(a, b), i, j) for i, a in enumerate(regions) for j, b in enumerate(regions) if i < j]
        cost, i, j = min(pairs)
        if cost > waste and len(regions) <= max_regions:
            break
        merged = _union(regions[i], regions[j])
        regions = [r for k, r in enumerate(regions) if k not in (i, j)] + [merged]
    return regions


def regions_tiles(regions: Sequence[Rect], model_hw: tuple[int, int], max_tiles: int = 4) -> list[Rect]:
    """Tiles over every region, sharing ``max_tiles``: each region one tile at least, the rest to
    the largest regions (most model-input areas) first."""
    mh, mw = model_hw
    budget = {i: 1 for i in range(len(regions))}
    spare = max_tiles - len(regions)
    want = {i: len(region_tiles(r, model_hw, max_tiles=max_tiles)) for i, r in enumerate(regions)}
    for i in sorted(budget, key=lambda i: -_area(regions[i]) / (mh * mw)):
        extra = min(spare, want[i] - 1)
        budget[i] += max(0, extra)
        spare -= max(0, extra)
    return [t for i, r in enumerate(regions) for t in region_tiles(r, model_hw, max_tiles=budget[i])]


def region_tiles(region: Rect, model_hw: tuple[int, int], max_zoom_out: float = 1.5, max_tiles: int = 4) -> list[Rect]:
    """Tiles over ``region`` each shrunk at most ``max_zoom_out`` times when fed to the model.

    A region smaller than the model input is one tile (it is enlarged); a large one is split so
    that small objects keep most of their pixels, up to ``max_tiles`` (the cost grows with each).
    """
    x1, y1, x2, y2 = region
    mh, mw = model_hw
    cols = max(1, math.ceil((x2 - x1) / (mw * max_zoom_out)))
    rows = max(1, math.ceil((y2 - y1) / (mh * max_zoom_out)))
    while cols * rows > max_tiles:
        if cols >= rows and cols > 1:
            cols -= 1
        elif rows > 1:
            rows -= 1
        else:
            break
    return grid_tiles(region, cols, rows)


def _inner_edge_cut(xyxy: np.ndarray, tile: Rect, frame_wh: tuple[int, int]) -> np.ndarray:
    """Mask of boxes touching an edge of ``tile`` that is not an edge of the frame."""
    tx1, ty1, tx2, ty2 = tile
    fw, fh = frame_wh
    cut = np.zeros(len(xyxy), dtype=bool)
    if tx1 > 0:
        cut |= xyxy[:, 0] <= tx1 + EDGE_PX
    if ty1 > 0:
        cut |= xyxy[:, 1] <= ty1 + EDGE_PX
    if tx2 < fw:
        cut |= xyxy[:, 2] >= tx2 - EDGE_PX
    if ty2 < fh:
        cut |= xyxy[:, 3] >= ty2 - EDGE_PX
    return cut


def detect_tiles(detector: _Detector, frame: np.ndarray, tiles: Sequence[Rect],
                 full: Detections | None) -> Detections:
    """Boxes from every tile, mapped back to the frame, merged with ``full`` (the frame pass)."""
    fh, fw = frame.shape[:2]
    parts: list[Detections] = [full] if full is not None else []
    for tile in tiles:
        x1, y1, x2, y2 = tile
        crop = frame[y1:y2, x1:x2]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        d = detector.detect(np.ascontiguousarray(crop))
        if not len(d):
            continue
        xyxy = d.xyxy + np.array([x1, y1, x1, y1], dtype=np.float32)
        keep = ~_inner_edge_cut(xyxy, tile, (fw, fh))
        parts.append(Detections(xyxy[keep], d.confidence[keep], d.class_id[keep], d.class_names))
    return merge(parts, detector.class_names)


def merge(parts: Sequence[Detections], class_names: dict[int, str]) -> Detections:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return Detections.empty(class_names)
    xyxy = np.concatenate([p.xyxy for p in parts]).astype(np.float32)
    conf = np.concatenate([p.confidence for p in parts]).astype(np.float32)
    cls = np.concatenate([p.class_id for p in parts]).astype(np.int64)
    keep = batched_nms(xyxy, conf, cls, MERGE_IOU, len(conf))
    keep = _drop_contained(xyxy, conf, cls, np.asarray(keep))
    return Detections(xyxy[keep], conf[keep], cls[keep], class_names)


def _drop_contained(xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Drop a box lying mostly (>= 80 %) inside a higher-scored box of its class.

    At different scales one object can give a whole box and a part box (a bus's front half from a
    tile), which plain IoU-NMS keeps both of because their IoU is low.
    """
    order = keep[np.argsort(-conf[keep], kind="stable")]
    chosen: list[int] = []
    for i in order:
        bi = xyxy[i]
        area = max((bi[2] - bi[0]) * (bi[3] - bi[1]), 1e-6)
        inside = False
        for j in chosen:
            if cls[j] != cls[i]:
                continue
            bj = xyxy[j]
            w = min(bi[2], bj[2]) - max(bi[0], bj[0])
            h = min(bi[3], bj[3]) - max(bi[1], bj[1])
            if w > 0 and h > 0 and w * h / area >= 0.8:
                inside = True
                break
        if not inside:
            chosen.append(int(i))
    return np.array(chosen, dtype=np.int64)


def parse_tiles(spec: str) -> tuple[int, int] | None:
    """'none' -> None; '2x2' -> (2, 2)."""
    if spec in ("", "none", "0"):
        return None
    try:
        cols, rows = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise ValueError(f"tiles must be 'none' or COLSxROWS such as 2x2, got {spec!r}") from None
    if cols < 1 or rows < 1:
        raise ValueError("tiles: COLS and ROWS must be at least 1")
    return cols, rows


def detector_for_settings(detector: _Detector, tiles: str = "none") -> Callable[[np.ndarray], Detections]:
    """A frame -> detections callable for ``eval detections``: the frame, plus a tile grid if asked."""
    grid = parse_tiles(tiles)
    if grid is None:
        return detector.detect

    def detect(frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        return detect_tiles(detector, frame, grid_tiles((0, 0, w, h), *grid), detector.detect(frame))

    return detect


@dataclass
class ZoneRegionDetector:
    """The pipeline's detector: the whole frame every ``full_every`` analysis frames, zone tiles every frame.

    ``tiles`` are in frame pixels (the pipeline maps the scene's zones to the video's size).
    """

    detector: _Detector
    tiles: list[Rect]
    full_every: int = 1
    _count: int = 0

    @property
    def name(self) -> str:
        return getattr(self.detector, "name", "detector")

    def detect(self, frame: np.ndarray) -> Detections:
        full = self.detector.detect(frame) if self._count % max(1, self.full_every) == 0 else None
        self._count += 1
        if not self.tiles:
            return full if full is not None else Detections.empty(self.detector.class_names)
        return detect_tiles(self.detector, frame, self.tiles, full)
