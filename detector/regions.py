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

A second, closer look (``FocusSettings``, off unless asked for): where the first pass (the frame
and its tiles) found small people that no tile showed as large as a window will, square windows
around them are given to the model at ``zoom`` times their size, and inside each window the
closer look decides on those small people (the first pass's boxes there give way to its own).
Measured on the development frames and clips in benchmarks/README.md ("Choosing the analysis
model").
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


@dataclass(frozen=True)
class FocusSettings:
    """A second look at ``zoom`` times the frame's size where the first pass found small people.

    Seeds are the first pass's boxes of ``classes`` scored at least ``min_score``, shorter than
    ``max_height`` frame pixels and seen by no view of the first pass (the frame, a tile) at
    ``zoom`` or more; at most ``max_windows`` square windows of the model input's side over
    ``zoom`` (the frame's shorter side where that is less) cover as many seeds as they can, each
    window one more inference. In the pipeline the seeds are what the detector returned, so
    ``min_score`` below the pipeline's threshold for people changes nothing.
    """

    max_windows: int = 4
    zoom: float = 2.0
    min_score: float = 0.2
    max_height: float = 40.0
    classes: tuple[str, ...] = ("person",)

    def __post_init__(self) -> None:
        if self.max_windows < 1:
            raise ValueError(f"focus: max_windows must be at least 1, got {self.max_windows}")
        if not self.zoom >= 1:
            raise ValueError(f"focus: zoom must be at least 1, got {self.zoom}")
        if not self.max_height > 0:
            raise ValueError(f"focus: max_height must be positive, got {self.max_height}")

    def to_dict(self) -> dict:
        """What analysis.json records of it."""
        return {"max_windows": self.max_windows, "zoom": self.zoom, "min_score": self.min_score,
                "max_height": self.max_height, "classes": list(self.classes)}


def focus_windows(boxes: np.ndarray, frame_wh: tuple[int, int], side: float, max_windows: int) -> list[Rect]:
    """At most ``max_windows`` squares of ``side`` px (less where the frame is smaller) inside the
    frame, each holding whole as many of ``boxes`` (xyxy) as one window can, most first.

    Greedy cover: each box in turn is tried as the window's centre, the window that holds the most
    boxes not yet covered is kept and moved to the middle of what it holds (which it then still
    holds, and maybe more), and those boxes are taken off. A box larger than the window is left out.
    """
    fw, fh = frame_wh
    side = float(min(side, fw, fh))
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    boxes = boxes[((boxes[:, 2] - boxes[:, 0]) <= side) & ((boxes[:, 3] - boxes[:, 1]) <= side)]

    def place(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
        return (min(max((x1 + x2) / 2 - side / 2, 0.0), fw - side),
                min(max((y1 + y2) / 2 - side / 2, 0.0), fh - side))

    def holds(x0: float, y0: float) -> np.ndarray:
        return ((boxes[:, 0] >= x0) & (boxes[:, 2] <= x0 + side)
                & (boxes[:, 1] >= y0) & (boxes[:, 3] <= y0 + side))

    left = np.ones(len(boxes), bool)
    windows: list[Rect] = []
    while left.any() and len(windows) < max_windows:
        best = None
        for i in np.flatnonzero(left):
            held = holds(*place(*boxes[i])) & left
            if best is None or held.sum() > best.sum():
                best = held
        held_boxes = boxes[best]
        x0, y0 = place(held_boxes[:, 0].min(), held_boxes[:, 1].min(), held_boxes[:, 2].max(), held_boxes[:, 3].max())
        left &= ~(holds(x0, y0) | best)
        windows.append((round(x0), round(y0), round(x0 + side), round(y0 + side)))
    return windows


def _view_scale(view: Rect, model_hw: tuple[int, int]) -> float:
    """How much larger than in the frame the model sees what a crop holds (letterboxed)."""
    mh, mw = model_hw
    return min(mw / max(view[2] - view[0], 1), mh / max(view[3] - view[1], 1))


def _closest_view(xyxy: np.ndarray, views: Sequence[Rect], model_hw: tuple[int, int]) -> np.ndarray:
    """Per box, the largest scale at which one of ``views`` (crops of the frame, the frame first)
    held it whole."""
    best = np.zeros(len(xyxy), np.float64)
    for view in views:
        x1, y1, x2, y2 = view
        held = (xyxy[:, 0] >= x1) & (xyxy[:, 1] >= y1) & (xyxy[:, 2] <= x2) & (xyxy[:, 3] <= y2)
        best = np.where(held, np.maximum(best, _view_scale(view, model_hw)), best)
    return best


def detect_focus(detector: _Detector, frame: np.ndarray, first: Detections, settings: FocusSettings,
                 views: Sequence[Rect] = ()) -> Detections:
    """``first`` (the frame pass and its tiles ``views``, merged) with a closer look where it found
    small people.

    Only boxes that the first pass saw at a smaller scale than a window shows them count: a person
    a zone tile already enlarged 3x is not looked at again at 2x. Inside a window, such small boxes
    of the focus classes that the window holds clear of its inner edges are replaced by what the
    window finds: it sees them at more pixels, so its boxes are the better placed, and a small box
    it does not confirm was a weak guess. Everything else is merged as tile boxes are
    (``detect_tiles``).
    """
    if not len(first):
        return first
    fh, fw = frame.shape[:2]
    model_hw = tuple(detector.input_size)
    side = min(min(model_hw) / settings.zoom, fw, fh)
    window_scale = _view_scale((0, 0, round(side), round(side)), model_hw)
    ids = [k for k, v in first.class_names.items() if v in settings.classes]
    heights = first.xyxy[:, 3] - first.xyxy[:, 1]
    seen_from = _closest_view(first.xyxy, [(0, 0, fw, fh), *views], model_hw)
    small = np.isin(first.class_id, ids) & (heights < settings.max_height) & (seen_from < window_scale)
    seeds = small & (first.confidence >= settings.min_score)
    if not seeds.any():
        return first
    windows = focus_windows(first.xyxy[seeds], (fw, fh), side, settings.max_windows)
    replaced = np.zeros(len(first), bool)
    for x1, y1, x2, y2 in windows:
        inside = ((first.xyxy[:, 0] >= x1) & (first.xyxy[:, 2] <= x2)
                  & (first.xyxy[:, 1] >= y1) & (first.xyxy[:, 3] <= y2))
        replaced |= small & inside & (_cut_sides(first.xyxy, (x1, y1, x2, y2), (fw, fh)) == 0)
    return detect_tiles(detector, frame, windows, first.subset(~replaced))


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


def detector_for_settings(detector: _Detector, tiles: str = "none",
                          focus: FocusSettings | None = None) -> Callable[[np.ndarray], Detections]:
    """A frame -> detections callable for ``eval detections``: the frame, plus a tile grid if
    asked, plus a closer look where they found small people (``focus``)."""
    grid = parse_tiles(tiles)
    if grid is None and focus is None:
        return detector.detect

    def detect(frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        found = detector.detect(frame)
        tiles = grid_tiles((0, 0, w, h), *grid) if grid is not None else []
        if tiles:
            found = detect_tiles(detector, frame, tiles, found)
        return found if focus is None else detect_focus(detector, frame, found, focus, tiles)

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
    # A closer look where the frame and the tiles found small people (``detect_focus``); None: off.
    focus: FocusSettings | None = None
    _count: int = 0

    @property
    def name(self) -> str:
        return getattr(self.detector, "name", "detector")

    def detect(self, frame: np.ndarray) -> Detections:
        full = self.detector.detect(frame) if self._count % max(1, self.full_every) == 0 else None
        self._count += 1
        if not self.tiles:
            found = full if full is not None else Detections.empty(self.detector.class_names)
        else:
            found = detect_tiles(self.detector, frame, self.tiles, full, join_cut_objects=self.slicing is not None)
        return found if self.focus is None else detect_focus(self.detector, frame, found, self.focus, self.tiles)

    def slicing_dict(self) -> dict | None:
        """What analysis.json records of the slicing (None: zone tiles or the frame alone)."""
        if self.slicing is None:
            return None
        return {"tile": self.slicing.tile, "overlap": self.slicing.overlap, "tiles": len(self.tiles)}
