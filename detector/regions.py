"""Looking where the rules look: detection on crops around the scene's zones, merged with the frame.

A person 20 px tall on a far crosswalk shrinks to 8 px when a 960x540 frame is letterboxed into a
416 px model: below what a small detector can find. Cropping the region that holds the zones and
giving it to the model at model resolution shows that person at two or three times the size, so
the detector runs on the whole frame (to keep everything else tracked) *and* on tiles covering
the zones' region, and the boxes are merged.

Merging: tile boxes that touch a tile's inner edge are cut objects and are dropped (the frame pass
or the overlapping neighbour tile sees them whole); what is left goes through one class-wise NMS
with the frame's boxes. The whole-frame pass can run at a lower rate than the tiles
(``full_every``): objects far from every zone matter little to the rules. With ``join_cut``
(whole-frame slicing, ``detector.slicing``), an object wider than the tiles' overlap that no tile
and no frame pass saw whole is not lost: its pieces from tiles either side of the cut are joined
into one box.
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
            tiles.append((round(tx), round(ty), round(min(tx + tw, x2)), round(min(ty + th, y2))))
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


_LEFT, _TOP, _RIGHT, _BOTTOM = 1, 2, 4, 8


def _cut_sides(xyxy: np.ndarray, tile: Rect, frame_wh: tuple[int, int]) -> np.ndarray:
    """Per box, a bit per edge of ``tile`` that is not an edge of the frame and that the box touches."""
    tx1, ty1, tx2, ty2 = tile
    fw, fh = frame_wh
    sides = np.zeros(len(xyxy), dtype=np.int64)
    if tx1 > 0:
        sides |= np.where(xyxy[:, 0] <= tx1 + EDGE_PX, _LEFT, 0)
    if ty1 > 0:
        sides |= np.where(xyxy[:, 1] <= ty1 + EDGE_PX, _TOP, 0)
    if tx2 < fw:
        sides |= np.where(xyxy[:, 2] >= tx2 - EDGE_PX, _RIGHT, 0)
    if ty2 < fh:
        sides |= np.where(xyxy[:, 3] >= ty2 - EDGE_PX, _BOTTOM, 0)
    return sides


@dataclass(frozen=True)
class _Piece:
    """A tile's box cut by one of the tile's inner edges, in frame pixels."""

    box: np.ndarray
    score: float
    cls: int
    sides: int
    tile: Rect


def _span_overlap(a1: float, a2: float, b1: float, b2: float) -> float:
    """Overlap of two intervals as a share of the shorter one."""
    inter = min(a2, b2) - max(a1, b1)
    return max(0.0, inter) / max(min(a2 - a1, b2 - b1), 1e-6)


def _continues(a: _Piece, b: _Piece) -> bool:
    """``b`` goes on where ``a`` was cut: ``a`` cut at its tile's right (bottom) edge, ``b`` at its
    tile's left (top) edge inside ``a``, the two overlapping in the band both tiles see, and
    lying across the cut at the same height (left-right) or place (top-bottom)."""
    if a.cls != b.cls or a.tile == b.tile:
        return False
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.box, b.box
    if a.sides & _RIGHT and b.sides & _LEFT and b.tile[0] < a.tile[2]:
        return ax1 < bx1 < ax2 < bx2 and _span_overlap(ay1, ay2, by1, by2) >= 0.5
    if a.sides & _BOTTOM and b.sides & _TOP and b.tile[1] < a.tile[3]:
        return ay1 < by1 < ay2 < by2 and _span_overlap(ax1, ax2, bx1, bx2) >= 0.5
    return False


def join_cut(pieces: Sequence[_Piece]) -> list[tuple[np.ndarray, float, int]]:
    """Boxes of objects made of two or more pieces across tile edges: (box, score, class).

    A piece with no continuation is left out (a neighbour tile or the frame pass saw the object
    whole, or it is a fragment too uncertain to place); a joined box is the pieces' union with
    the best piece's score.
    """
    parent = list(range(len(pieces)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(pieces):
        for j, b in enumerate(pieces):
            if i != j and _continues(a, b):
                parent[root(j)] = root(i)
    groups: dict[int, list[_Piece]] = {}
    for i, p in enumerate(pieces):
        groups.setdefault(root(i), []).append(p)
    out = []
    for group in groups.values():
        if len(group) < 2:
            continue
        boxes = np.array([p.box for p in group], dtype=np.float32)
        box = np.array([*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)], dtype=np.float32)
        out.append((box, max(p.score for p in group), group[0].cls))
    return out


def _add_uncovered(kept: Detections, joined: Sequence[tuple[np.ndarray, float, int]]) -> Detections:
    """``kept`` plus each joined box that no kept box of its class already covers (half of it)."""
    xyxy, conf, cls = list(kept.xyxy), list(kept.confidence), list(kept.class_id)
    for box, score, c in sorted(joined, key=lambda j: -j[1]):
        area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6)
        covered = False
        for other, oc in zip(xyxy, cls):
            if oc != c:
                continue
            w = min(box[2], other[2]) - max(box[0], other[0])
            h = min(box[3], other[3]) - max(box[1], other[1])
            if w > 0 and h > 0 and w * h / area >= 0.5:
                covered = True
                break
        if not covered:
            xyxy.append(box)
            conf.append(score)
            cls.append(c)
    if len(xyxy) == len(kept):
        return kept
    return Detections(np.array(xyxy, np.float32).reshape(-1, 4), np.array(conf, np.float32),
                      np.array(cls, np.int64), kept.class_names)


def detect_tiles(detector: _Detector, frame: np.ndarray, tiles: Sequence[Rect],
                 full: Detections | None, join_cut_objects: bool = False) -> Detections:
    """Boxes from every tile, mapped back to the frame, merged with ``full`` (the frame pass).

    ``join_cut_objects``: pieces of one object cut by tile edges are joined (``join_cut``) and
    kept where nothing whole covers them; otherwise cut boxes are dropped.
    """
    fh, fw = frame.shape[:2]
    parts: list[Detections] = [full] if full is not None else []
    pieces: list[_Piece] = []
    for tile in tiles:
        x1, y1, x2, y2 = tile
        crop = frame[y1:y2, x1:x2]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        d = detector.detect(np.ascontiguousarray(crop))
        if not len(d):
            continue
        xyxy = d.xyxy + np.array([x1, y1, x1, y1], dtype=np.float32)
        sides = _cut_sides(xyxy, tile, (fw, fh))
        keep = sides == 0
        parts.append(Detections(xyxy[keep], d.confidence[keep], d.class_id[keep], d.class_names))
        if join_cut_objects:
            pieces.extend(_Piece(xyxy[i], float(d.confidence[i]), int(d.class_id[i]), int(sides[i]), tile)
                          for i in np.flatnonzero(~keep))
    merged = merge(parts, detector.class_names)
    if pieces:
        merged = _add_uncovered(merged, join_cut(pieces))
    return merged


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
    # Set when ``tiles`` are a whole-frame slice grid (``detector.slicing.SliceSettings``): pieces
    # of objects cut by tile edges are then joined rather than dropped.
    slicing: object | None = None
    _count: int = 0

    @property
    def name(self) -> str:
        return getattr(self.detector, "name", "detector")

    def detect(self, frame: np.ndarray) -> Detections:
        full = self.detector.detect(frame) if self._count % max(1, self.full_every) == 0 else None
        self._count += 1
        if not self.tiles:
            return full if full is not None else Detections.empty(self.detector.class_names)
        return detect_tiles(self.detector, frame, self.tiles, full, join_cut_objects=self.slicing is not None)

    def slicing_dict(self) -> dict | None:
        """What analysis.json records of the slicing (None: zone tiles or the frame alone)."""
        if self.slicing is None:
            return None
        return {"tile": self.slicing.tile, "overlap": self.slicing.overlap, "tiles": len(self.tiles)}
