"""Riders belong to their vehicle: a person riding a bicycle or motorbike is not a pedestrian.

COCO detectors report the rider of a motorbike as a ``person`` box above (and overlapping) a
``motorcycle`` box. Taken as a walker, that rider "enters the crossing on red" every time a
motorbike crosses a zebra. So, per person track:

* **paired**: in at least ``min_pairs`` samples its box sat on a two-wheeler's box (the two boxes
  overlap horizontally by most of the narrower one, and the person's lower body lies over the
  vehicle), or the two boxes are one (the detector boxed rider and machine together as both a
  ``person`` and a ``motorcycle``: CenterNet does this for motorbikes seen from the side, as on
  the Da Nang crossing), and the two moved together;
* **fast**: or, when the detector missed the vehicle, it moved faster than ``rider_speed`` of its
  own heights per second over ``speed_window_s`` (a walker manages ~0.8, a runner ~2, an e-bike
  3 or more); in a scene with a ground calibration, also faster than ``rider_speed_mps`` on the
  ground over ``metric_window_s``. The second catches riders moving along the camera's line of
  sight: a cyclist riding away from a motorway camera at 25 km/h crosses a fifth of his own height
  per second in the image, as slow as a walker, but 7 m/s on the ground, five times a walker's
  1.4 m/s. Speed on the ground is the slope of a line fitted to the track's ground points over the
  window, not the distance between two of them: far from a telephoto camera one pixel of a box's
  bottom is a metre of road, and two jittering samples would make a walker run. And only where the
  calibration agrees with the person's own size (``SCALE_AGREEMENT``): a calibration fitted to
  markings near the camera can be far off at the other end of the picture, and one that made the
  road there three times too long would make every walker there a rider.

Such a track is a ``rider`` from then on for the rest of its life (reviewers would rather miss a
walker who pushed a bike than see a rider raised as a pedestrian). The rider observation carries
``carried_by`` (the vehicle's track id) when paired, so two-wheeler rules judge the vehicle once
and can still judge a rider whose vehicle the detector did not see.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from detector.geometry import GroundCalibration, box_iou
from detector.types import Box, TrackObservation

TWO_WHEELERS = frozenset({"bicycle", "motorcycle"})
RIDER = "rider"
PERSON_HEIGHT_M = 1.7
# Metres per pixel across the picture by the calibration, over metres per pixel by a person's box
# height (1.7 m): ~0.5-1 where both are right (the motorway cyclist of the dev set: 0.75-0.96; a
# steep camera sees people shorter, lower; a calibration 2.5 times too long, 2). Outside this
# range the ground speed is not trusted.
SCALE_AGREEMENT = (0.4, 2.0)


# Two boxes this alike (intersection over union) with their bottoms together are one object that
# the detector named twice. A walker beside or behind a parked bike has a box of another shape
# (taller and narrower: IoU ~0.6 even when it stands right behind a bike its own height).
SAME_OBJECT_IOU = 0.7
# No speed is read across a longer time without a sample of the track (at 10 analysis frames a
# second: two frames missed): what comes back after such a gap may be another person.
MAX_SAMPLE_GAP_S = 0.3


def _velocity(window: list[tuple[float, float, float, float]], points: np.ndarray) -> np.ndarray:
    """The slope of a least-squares straight line through ``points`` (one per sample of
    ``window``, at its time): a speed no single jumpy box decides."""
    t = np.array([s[0] for s in window])
    dt = t - t.mean()
    return (dt[:, None] * (points - points.mean(axis=0))).sum(axis=0) / (dt * dt).sum()


def same_object(person: Box, vehicle: Box) -> bool:
    """The two boxes frame one thing: rider and machine boxed together, named both ways."""
    py1, py2, vy2 = person[1], person[3], vehicle[3]
    return box_iou(person, vehicle) >= SAME_OBJECT_IOU and abs(py2 - vy2) <= 0.15 * max(py2 - py1, 1.0)


def rides_on(person: Box, vehicle: Box) -> bool:
    """The person's box sits on the vehicle's (overlapping columns, lower body over the vehicle),
    or the two boxes are one (``same_object``)."""
    if same_object(person, vehicle):
        return True
    px1, py1, px2, py2 = person
    vx1, vy1, vx2, vy2 = vehicle
    overlap_x = min(px2, vx2) - max(px1, vx1)
    if overlap_x <= 0.5 * min(px2 - px1, vx2 - vx1):
        return False
    ph = max(py2 - py1, 1.0)
    vh = max(vy2 - vy1, 1.0)
    # The person's feet are on the pedals or footboard: well inside the vehicle's vertical span
    # (not above it: a bike parked in front), and the vehicle's top is below the person's shoulders.
    feet_on = vy1 + 0.3 * vh <= py2 <= vy2 + 0.15 * ph
    return feet_on and vy1 >= py1 + 0.25 * ph


@dataclass
class _Person:
    pairs: dict[int, int] = field(default_factory=dict)  # vehicle id -> samples paired
    vehicle: int | None = None
    rider: bool = False
    history: deque = field(default_factory=lambda: deque(maxlen=64))  # (t, cx, y2, h)


class RiderLinker:
    def __init__(self, *, min_pairs: int = 2, rider_speed: float = 2.5, speed_window_s: float = 0.5,
                 calibration: GroundCalibration | None = None, rider_speed_mps: float = 4.0,
                 metric_window_s: float = 1.5) -> None:
        self.min_pairs = min_pairs
        self.rider_speed = rider_speed
        self.speed_window_s = speed_window_s
        # A jogger runs 2.5-3.5 m/s, a cyclist 4-8, an e-bike or motorbike more.
        self.calibration = calibration
        self.rider_speed_mps = rider_speed_mps
        self.metric_window_s = metric_window_s
        self._people: dict[int, _Person] = {}
        self._links: dict[int, int] = {}  # of riders already forgotten

    def update(self, observations: list[TrackObservation]) -> list[TrackObservation]:
        vehicles = [o for o in observations if o.class_name in TWO_WHEELERS]
        out = []
        for o in observations:
            if o.class_name not in ("person", RIDER):
                out.append(o)
                continue
            p = self._people.setdefault(o.track_id, _Person())
            x1, y1, x2, y2 = o.box
            p.history.append((o.t, (x1 + x2) / 2.0, y2, max(y2 - y1, 1.0)))
            under = [v for v in vehicles if rides_on(o.box, v.box)]
            if under:
                v = min(under, key=lambda v: abs((v.box[0] + v.box[2]) / 2 - (x1 + x2) / 2))
                p.pairs[v.track_id] = p.pairs.get(v.track_id, 0) + 1
                if p.pairs[v.track_id] >= self.min_pairs:
                    p.rider, p.vehicle = True, v.track_id
            if not p.rider and (self._fast(p) or self._fast_on_ground(p)):
                p.rider = True
            if p.rider:
                # Once paired, always the vehicle's rider (even in frames where the vehicle was
                # missed), so the offence is judged on one track, the vehicle's.
                out.append(replace(o, class_name=RIDER, carried_by=p.vehicle))
            else:
                out.append(o)
        return out

    def _fast(self, p: _Person) -> bool:
        """Faster than ``rider_speed`` of its own heights a second: the slope of a straight line
        through the samples of the last ``speed_window_s`` (from the last one at least that old),
        read only where the track was seen without a gap (``MAX_SAMPLE_GAP_S``).

        Across a gap the "speed" may be two people's: far from the Beijing camera a track missing
        for 0.3 s came back 15 px further on (an id passed between two 13 px people), read 3
        heights a second from its two ends, and the walker it then followed stayed a rider into a
        zone declared red. A line through every sample also lets no single jumpy box decide."""
        if len(p.history) < 3:
            return False
        t1 = p.history[-1][0]
        older = [i for i, s in enumerate(p.history) if t1 - s[0] >= self.speed_window_s - 1e-6]
        if not older:
            return False
        window = list(p.history)[older[-1]:]
        if len(window) < 3 or any(b[0] - a[0] > MAX_SAMPLE_GAP_S + 1e-6 for a, b in zip(window, window[1:])):
            return False
        velocity = _velocity(window, np.array([(s[1], s[2]) for s in window]))
        heights = float(np.mean([s[3] for s in window]))
        return float(np.hypot(*velocity)) / heights >= self.rider_speed

    def _fast_on_ground(self, p: _Person) -> bool:
        """Faster than ``rider_speed_mps`` on the ground: the slope of a straight line through the
        ground points of the last ``metric_window_s`` (at least five samples, from the last one at
        least that old: the window itself spans it, not only the track's history).

        Unlike the image speed, it is read across gaps in the track: a far cyclist's track
        flickers, and waiting for ``metric_window_s`` without a gap made the motorway drill's
        shoulder cyclist a rider 1.2 s later and split his case in two (dev set, 2026-12-07)."""
        if self.calibration is None or len(p.history) < 5:
            return False
        t_last = p.history[-1][0]
        older = [i for i, s in enumerate(p.history) if t_last - s[0] >= self.metric_window_s - 1e-6]
        if not older:
            return False
        window = list(p.history)[older[-1]:]
        if len(window) < 5:
            return False
        ground = np.array([self.calibration.to_ground((s[1], s[2])) for s in window])
        if not self._calibration_agrees(window, ground):
            return False
        return float(np.hypot(*_velocity(window, ground))) >= self.rider_speed_mps

    def _calibration_agrees(self, window: list[tuple[float, float, float, float]], ground: np.ndarray) -> bool:
        """The calibration's scale across the picture at the person's feet (``ground``: where the
        window's samples stand) agrees with the scale their box height gives (median over the window)."""
        ratios = []
        for (_, x, y, h), here in zip(window, ground):
            across = np.array(self.calibration.to_ground((x + 1.0, y)))
            ratios.append(float(np.hypot(*(across - here))) * h / PERSON_HEIGHT_M)
        low, high = SCALE_AGREEMENT
        return low <= float(np.median(ratios)) <= high

    def links(self) -> dict[int, int]:
        """Rider track id -> the vehicle track it rides (for merging their cases into one)."""
        return {**self._links, **{tid: p.vehicle for tid, p in self._people.items() if p.vehicle is not None}}

    def forget(self, alive: set[int]) -> None:
        """Drop state of tracks no longer alive (bounded memory on long streams)."""
        self._links.update(self.links())
        self._people = {k: v for k, v in self._people.items() if k in alive}
