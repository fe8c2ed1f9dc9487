"""Distances that mean the same thing near the camera and far from it.

Pixel thresholds break on perspective: a crosswalk 10 m deep can be 40 px tall in the image and a
car 50 m away moves a few px per second. Rules therefore measure in metres:

* with a **ground calibration** (four or more image points with their ground positions in metres),
  through the homography image -> ground: exact on a flat road;
* without one, by the object's **own size**: a box ``h`` px tall around a walker (about 1.7 m)
  means ``h / 1.7`` px per metre at that place. Rough (a car seen from above looks taller than it
  is), but it shrinks with distance exactly as the road does.

A zone setting given in pixels (the fields of earlier scene files) keeps its pixel meaning; see
``Threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon as ShapelyPolygon

from detector.types import Box, Point

# Typical height of the box around each class, in metres (standing walker, rider on a two-wheeler).
CLASS_HEIGHT_M = {
    "person": 1.7,
    "rider": 1.7,
    "bicycle": 1.1,
    "motorcycle": 1.2,
    "car": 1.5,
    "truck": 3.0,
    "bus": 3.1,
    "train": 3.5,
}
DEFAULT_HEIGHT_M = 1.5


def class_height_m(name: str) -> float:
    return CLASS_HEIGHT_M.get(name, DEFAULT_HEIGHT_M)


@dataclass(frozen=True)
class GroundCalibration:
    """Homography from scene pixels to ground metres (any origin and orientation)."""

    matrix: np.ndarray  # 3x3, image -> ground

    @classmethod
    def from_points(cls, image: list[tuple[float, float]], ground: list[tuple[float, float]]) -> "GroundCalibration":
        if len(image) != len(ground) or len(image) < 4:
            raise ValueError("a ground calibration needs the same number (>= 4) of image and ground points")
        src = np.asarray(image, np.float64)
        dst = np.asarray(ground, np.float64)
        matrix, _ = cv2.findHomography(src, dst, 0)
        if matrix is None or not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-12:
            raise ValueError("the calibration points do not define a plane (are three of them on one line?)")
        return cls(matrix)

    def to_ground(self, p: Point) -> Point:
        v = self.matrix @ np.array([p[0], p[1], 1.0])
        return (float(v[0] / v[2]), float(v[1] / v[2]))

    def polygon(self, points: list[tuple[float, float]]) -> ShapelyPolygon:
        return ShapelyPolygon([self.to_ground(p) for p in points])

    def on_ground_side(self, p: Point, reference: list[tuple[float, float]]) -> bool:
        """Whether ``p`` lies on the same side of the horizon (the image line this homography
        sends to infinity) as the ``reference`` points (the calibration's own), clear of it: a
        point past the horizon maps to the ground behind the camera, mirrored."""
        w_ref = self.matrix[2] @ np.array([[x, y, 1.0] for x, y in reference]).T
        w = float(self.matrix[2] @ np.array([p[0], p[1], 1.0]))
        return w * math.copysign(1.0, float(w_ref[0])) > 1e-6 * float(np.abs(w_ref).min())


def calibration_problem(image: list[tuple[float, float]], ground: list[tuple[float, float]]) -> str | None:
    """What is wrong with calibration points that ``GroundCalibration.from_points`` solves but that
    do not describe one road plane; None when they do.

    * Three (or more) of four points on one line: many homographies fit the pairs and
      findHomography returns one of them, whose distances off that line mean nothing.
    * Ground points listed in another order than the image points: four pairs always have a
      homography, but this one sends a line through the calibrated area to infinity (the
      horizon), so points near it are kilometres apart and those past it come back mirrored.
    """
    src = np.asarray(image, np.float64)
    dst = np.asarray(ground, np.float64)

    def normalised(pts: np.ndarray) -> np.ndarray:  # Hartley: centred, mean distance sqrt(2)
        centred = pts - pts.mean(axis=0)
        scale = np.sqrt((centred**2).sum(axis=1)).mean()
        return centred * (math.sqrt(2) / scale) if scale > 0 else centred

    a, b = normalised(src), normalised(dst)
    rows = []
    for (x, y), (u, v) in zip(a, b):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    rows += [[0.0] * 9] * max(0, 9 - len(rows))
    s = np.linalg.svd(np.asarray(rows), compute_uv=False)
    if s[0] <= 0 or s[7] < 1e-9 * s[0]:  # more than one homography fits exactly
        return ("three of the calibration points lie on one line, so they do not fix the perspective: "
                "give at least four points with no three on one line (e.g. the corners of a crossing)")
    matrix = GroundCalibration.from_points(image, ground).matrix
    w = np.hstack([src, np.ones((len(src), 1))]) @ matrix[2]
    if not (np.all(w > 0) or np.all(w < 0)):
        return ("the ground points are not in the same order as the image points (the road's outline "
                "comes out twisted, with the horizon running through it): list each ground point in the "
                "place of its image point")
    return None


class Ruler:
    """Metres between ground points, in the calibration if there is one, else by the object's size."""

    def __init__(self, calibration: GroundCalibration | None = None) -> None:
        self.calibration = calibration

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    @staticmethod
    def px_per_m(box: Box, class_name: str) -> float:
        return max(box[3] - box[1], 1.0) / class_height_m(class_name)

    def distance_m(self, a: Point, b: Point, box: Box, class_name: str) -> float:
        if self.calibration is not None:
            (ax, ay), (bx, by) = self.calibration.to_ground(a), self.calibration.to_ground(b)
            return math.hypot(bx - ax, by - ay)
        return math.hypot(b[0] - a[0], b[1] - a[1]) / self.px_per_m(box, class_name)


def crossable_edges(polygon_px: list[tuple[float, float]], frame_size: tuple[int, int] | None,
                    tol: float = 2.0):  # noqa: ANN201 - shapely geometry
    """The zone's boundary without the edges that lie on the frame's border.

    Nobody steps over the edge of the picture: a zone drawn to the bottom of the frame has no
    kerb there, and depth measured to it would call a walker in the middle of the zone shallow.
    """
    ring = ShapelyPolygon(polygon_px).exterior
    if frame_size is None:
        return ring
    w, h = frame_size
    from shapely.geometry import LineString, MultiLineString

    def on_border(a, b) -> bool:  # noqa: ANN001
        return ((abs(a[0]) <= tol and abs(b[0]) <= tol) or (abs(a[0] - w) <= tol and abs(b[0] - w) <= tol)
                or (abs(a[1]) <= tol and abs(b[1]) <= tol) or (abs(a[1] - h) <= tol and abs(b[1] - h) <= tol))

    coords = list(ring.coords)
    kept = [LineString([a, b]) for a, b in zip(coords, coords[1:]) if not on_border(a, b)]
    return MultiLineString(kept) if kept else ring


def open_at_border(polygon_px: list[tuple[float, float]], frame_size: tuple[int, int] | None,
                   tol: float = 2.0) -> ShapelyPolygon:
    """The zone with its vertices on the frame's border pushed far out past it.

    A zone drawn to the edge of the picture goes on beyond it. A walker close to the camera has
    feet at or below the bottom of the frame (the box is cut there, or the detector's box runs a
    few pixels past it); tested against the drawn polygon that point flickers in and out of a zone
    it is standing in the middle of.
    """
    if frame_size is None:
        return ShapelyPolygon(polygon_px)
    w, h = frame_size
    far = float(max(w, h))
    moved = []
    for x, y in polygon_px:
        x = -far if abs(x) <= tol else w + far if abs(x - w) <= tol else x
        y = -far if abs(y) <= tol else h + far if abs(y - h) <= tol else y
        moved.append((x, y))
    poly = ShapelyPolygon(moved)
    return poly if poly.is_valid else ShapelyPolygon(polygon_px)


class ZoneDepth:
    """How far inside a zone a ground point is, in metres (negative outside).

    Measured to the edges a person can walk over (``crossable_edges``), not to the frame border;
    a point past a border edge (feet below the bottom of the picture) is inside (``open_at_border``).
    """

    def __init__(self, polygon_px: list[tuple[float, float]], ruler: Ruler,
                 frame_size: tuple[int, int] | None = None) -> None:
        self.ruler = ruler
        self.poly_px = open_at_border(polygon_px, frame_size)
        shapely.prepare(self.poly_px)
        self.edges_px = crossable_edges(polygon_px, frame_size)
        self.poly_ground = ruler.calibration.polygon(polygon_px) if ruler.calibration is not None else None
        self.edges_ground = None
        if self.poly_ground is not None:
            cal = ruler.calibration
            self.edges_ground = shapely.transform(self.edges_px, lambda xy: np.array([cal.to_ground(p) for p in xy]))

    def nearest_edge(self, p: Point):  # noqa: ANN201 - shapely geometry
        """The crossable edge segment closest to ``p``: the kerb line someone at ``p`` is at."""
        from shapely.geometry import LineString

        point = ShapelyPoint(p)
        coords = [list(line.coords) for line in getattr(self.edges_px, "geoms", [self.edges_px])]
        segments = [LineString([a, b]) for line in coords for a, b in zip(line, line[1:])]
        return min(segments, key=lambda seg: seg.distance(point))

    def depth_px(self, p: Point) -> float:
        d = float(self.edges_px.distance(ShapelyPoint(p)))
        return d if shapely.contains_xy(self.poly_px, p[0], p[1]) else -d

    def depth_m(self, p: Point, box: Box, class_name: str) -> float:
        if self.poly_ground is not None:
            g = self.ruler.calibration.to_ground(p)
            d = float(self.edges_ground.distance(ShapelyPoint(g)))
            return d if shapely.contains_xy(self.poly_px, p[0], p[1]) else -d
        return self.depth_px(p) / Ruler.px_per_m(box, class_name)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two xyxy boxes (0 when they do not overlap)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def footprint(box: Box, band: float = 0.25) -> ShapelyPolygon:
    """The bottom ``band`` of a box: where a vehicle covers the road in an oblique view."""
    x1, y1, x2, y2 = box
    top = y2 - band * max(y2 - y1, 1.0)
    return ShapelyPolygon([(x1, top), (x2, top), (x2, y2), (x1, y2)])


def footprint_overlap(polygon: ShapelyPolygon, box: Box, band: float = 0.25) -> float:
    """Share of the box's footprint that lies inside ``polygon`` (0..1)."""
    fp = footprint(box, band)
    area = fp.area
    if area <= 0:
        return 0.0
    return float(polygon.intersection(fp).area / area)
