"""Small pieces every rule shares: zone geometry, class filters, trajectories.

Rules work on ground points (bottom centre of a box) in scene pixels and on video time. These
helpers keep the geometry in one place so that each rule module reads as its own decision logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon as ShapelyPolygon

from detector.types import Box, FrameContext, Point, TrackObservation, ViolationEvent

PERSON_CLASSES = frozenset({"person"})
# A person the track refiner found riding a bicycle or motorbike (``detector.riders``).
RIDER_CLASS = "rider"
VEHICLE_CLASSES = frozenset({"car", "truck", "bus", "motorcycle", "bicycle", "train"})


@dataclass(frozen=True)
class ZoneShape:
    """A zone polygon prepared for many point tests per frame.

    ``contains`` uses a prepared polygon (shapely caches the spatial index on first use); depth
    past the edge is ``detector.geometry.ZoneDepth``'s (metres, crossable edges).
    """

    polygon: ShapelyPolygon

    @classmethod
    def of(cls, points: list[tuple[float, float]]) -> "ZoneShape":
        poly = ShapelyPolygon(points)
        shapely.prepare(poly)
        return cls(poly)

    def contains(self, p: Point) -> bool:
        return bool(shapely.contains_xy(self.polygon, p[0], p[1]))

    def inradius(self) -> float:
        """Radius of the largest circle inside the zone: the deepest any point can be."""
        try:
            line = shapely.maximum_inscribed_circle(self.polygon, tolerance=0.5)
            return float(line.length)
        except Exception:  # pragma: no cover - very old GEOS
            minx, miny, maxx, maxy = self.polygon.bounds
            return min(maxx - minx, maxy - miny) / 2.0


@dataclass
class Trajectory:
    """The ground-point path of one offender, kept for the annotated clip."""

    points: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, obs: TrackObservation) -> None:
        x, y = obs.ground
        self.points.append((obs.t, round(x, 1), round(y, 1)))


def heading_point(start: tuple[float, float, float], last: tuple[float, float, float], t: float) -> tuple[float, float]:
    """Where an object seen at ``start`` and then at ``last`` (each ``(t, x, y)``) is by time ``t``
    if it goes on as it went: where a lost object was heading, for a new id that may be it."""
    t0, x0, y0 = start
    t1, x1, y1 = last
    ahead = (t - t1) / (t1 - t0) if t1 > t0 else 0.0
    return x1 + (x1 - x0) * ahead, y1 + (y1 - y0) * ahead


def box_distance(a: Box, b: Box) -> float:
    """Gap between two boxes in pixels (0 when they touch or overlap)."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return (dx * dx + dy * dy) ** 0.5


def box_overlap_fraction(inner: Box, outer: Box) -> float:
    """Share of ``inner``'s area that ``outer`` covers."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = max(inner[2] - inner[0], 0.0) * max(inner[3] - inner[1], 0.0)
    if w <= 0 or h <= 0 or area <= 0:
        return 0.0
    return (w * h) / area


class PerTrackRule:
    """What rules that judge each track on its own (red light, wrong way) do every frame.

    Observations of the rule's ``classes`` go to ``_step(obs)``; a track not seen for
    ``lost_after_s`` is closed with ``_close(track_id)``, and ``finish`` closes them all. Subclasses
    keep their per-track state in the dict ``_open_tracks()`` returns (values have ``last_t``).
    """

    classes: frozenset[str]
    lost_after_s: float

    def _open_tracks(self) -> dict:
        raise NotImplementedError

    def _step(self, obs: TrackObservation) -> ViolationEvent | None:
        raise NotImplementedError

    def _close(self, track_id: int) -> ViolationEvent | None:
        raise NotImplementedError

    def _track_events(self, ctx: FrameContext) -> list[ViolationEvent]:
        events = [ev for obs in ctx.observations
                  if obs.class_name in self.classes and (ev := self._step(obs)) is not None]
        lost = [tid for tid, state in self._open_tracks().items() if ctx.t - state.last_t > self.lost_after_s]
        events += [ev for tid in lost if (ev := self._close(tid)) is not None]
        return events

    def finish(self, t_end: float) -> list[ViolationEvent]:
        return [ev for tid in list(self._open_tracks()) if (ev := self._close(tid)) is not None]
