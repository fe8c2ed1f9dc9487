"""Riders going against a lane's configured direction of travel.

The direction comes from the scene file, never from observed traffic: rules that learn "normal
flow" get poisoned when traffic is light or when most riders in a bike lane go the wrong way.

Decision per track and lane stay: compare the ground point now with where it was about
``window_s`` ago (only samples inside this lane count). The move is wrong-way when it is at least
``min_distance_m`` long (metres: through the scene's ground calibration, where direction is
compared on the ground too, else by the vehicle's own box height, so a slow car far away is judged
like a near one; ``min_distance`` in pixels, as earlier scene files gave it, overrides it) and its
cosine with the lane direction is below ``max_cosine``. Distance
kills jitter and stationary riders; cosine kills crossing traffic (perpendicular, cosine ~ 0).
A box cut by the edge of the picture is judged by its own edges only (a bus coming in from the
right is measured by its left edge and its bottom, not by a centre that moves as the box grows);
where no edge of its own is left in a direction (cut on both sides, or the side is unknown), it is
not judged. A few consecutive wrong-way windows are needed before a case opens, so a single bad box (an id
jump between two riders) raises nothing. The case spans from the start of the first wrong-way
window to the last sample in the lane, and is emitted when the rider leaves the lane, the track
is lost, or the video ends: one case per track per lane stay.

A person becomes a rider by speed only after some riding (``detector.riders``: a cyclist whose
bicycle the detector misses, seen going away from the camera, after 1.5 s at riding speed on the
ground). Where two-wheelers are judged, a person's samples in the lane are kept (never judged), so
once the track is a rider its first window reaches back over the path it rode as a "person" and
the case starts where the riding against the lane was first seen, not seconds later.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from detector.geometry import Ruler, footprint_overlap
from detector.rules._common import PERSON_CLASSES, RIDER_CLASS, PerTrackRule, Trajectory, ZoneShape, heading_point
from detector.scene import LaneZone
from detector.explain import class_zh, ids_text
from detector.types import FrameContext, TrackObservation, ViolationEvent

RULE = "wrong_way"
DEFAULT_CLASSES = frozenset({"bicycle", "motorcycle"})
TWO_WHEELERS = frozenset({"bicycle", "motorcycle"})
# Whatever the metres say, a move shorter than this many pixels is box jitter: a car 8 px tall far
# down the road is "0.8 m" away from itself after a 4 px wobble.
MIN_MOVE_PX = 8.0


# Which coordinate of a box follows the object along x / y, by the side cut by the picture's edge.
_X_EDGE = {"": lambda b: (b[0] + b[2]) / 2.0, "r": lambda b: b[0], "l": lambda b: b[2]}
_Y_EDGE = {"": lambda b: b[3], "b": lambda b: b[1]}  # the bottom, or the top when the bottom is cut


def _has_own_edges(obs: TrackObservation) -> bool:
    """Whole, or cut with an edge of its own left across and along (the cut sides known)."""
    if not obs.truncated:
        return True
    cut = obs.cut
    return bool(cut) and not ("l" in cut and "r" in cut) and not ("t" in cut and "b" in cut)


@dataclass
class _Stay:
    last_t: float
    window: deque[TrackObservation] = field(default_factory=deque)
    out_run: int = 0
    wrong_run: int = 0
    last_inside: TrackObservation | None = None
    # Set once the stay is confirmed wrong-way.
    start: TrackObservation | None = None
    key: TrackObservation | None = None
    cosines: list[float] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    path: Trajectory = field(default_factory=Trajectory)
    pending_start: TrackObservation | None = None  # window start of the first wrong window
    track_ids: list[int] = field(default_factory=list)
    walking: bool = False  # only samples of a person so far (kept in case the track turns out to ride)
    appeared: TrackObservation | None = None  # a walking stay's first sample in the lane


class WrongWayRule(PerTrackRule):
    """One lane zone.

    ``confirm_samples``: consecutive wrong-way windows before the case opens.
    ``min_window_fraction``: a window must cover at least this share of ``window_s`` (a track
    seen for 0.3 s cannot show a 2 s displacement).
    """

    def __init__(
        self,
        zone: LaneZone,
        *,
        confirm_samples: int = 3,
        exit_samples: int = 2,
        lost_after_s: float = 2.0,
        min_window_fraction: float = 0.15,
        handover_s: float = 1.0,
        handover_heights: float = 1.0,
        ruler: Ruler | None = None,
    ) -> None:
        self.zone = zone
        self.shape = ZoneShape.of(zone.polygon)
        self.ruler = ruler or Ruler()
        a, b = zone.direction
        if self.ruler.calibration is not None:  # compare directions on the ground, not in the image
            a, b = self.ruler.calibration.to_ground(a), self.ruler.calibration.to_ground(b)
        (x1, y1), (x2, y2) = a, b
        n = math.hypot(x2 - x1, y2 - y1)
        self.dir = ((x2 - x1) / n, (y2 - y1) / n)
        classes = frozenset(zone.classes) if zone.classes else DEFAULT_CLASSES
        # A rider whose two-wheeler the detector missed stands for it; a rider on a detected
        # vehicle is judged through the vehicle (one case per offence).
        self.classes = classes | {RIDER_CLASS} if classes & TWO_WHEELERS else classes
        # Where riders are judged, people are followed too (not judged) until they may turn out to ride.
        self._prehistory = RIDER_CLASS in self.classes and not (classes & PERSON_CLASSES)
        if self._prehistory:
            self.classes = self.classes | PERSON_CLASSES
        self.confirm_samples = max(1, confirm_samples)
        self.exit_samples = max(1, exit_samples)
        self.lost_after_s = lost_after_s
        self.min_window_s = zone.window_s * min_window_fraction
        self._stays: dict[int, _Stay] = {}
        # New track id -> the wrong-way stay it continues (the tracker lost and re-found a rider).
        self._alias: dict[int, int] = {}
        self.handover_s = handover_s
        self.handover_heights = handover_heights
        self._in_frame: set[int] = set()  # track ids of the frame being judged

    def update(self, ctx: FrameContext) -> list[ViolationEvent]:
        self._in_frame = {o.track_id for o in ctx.observations}
        return self._track_events(ctx)

    def _open_tracks(self) -> dict[int, _Stay]:
        return self._stays

    def _inside(self, obs: TrackObservation) -> bool:
        if self.zone.trigger == "footprint":
            return footprint_overlap(self.shape.polygon, obs.box) >= self.zone.min_overlap
        return self.shape.contains(obs.ground)

    @staticmethod
    def _anchors(first: TrackObservation, obs: TrackObservation) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The points whose move is the object's own: the ground points of two whole boxes; for a
        box cut by the picture's edge, the edges it still has (left edge if cut on the right, top
        if cut at the bottom...), the same for both. None when a direction has no edge of its own."""
        if not (first.truncated or obs.truncated):
            return first.ground, obs.ground
        if not (_has_own_edges(first) and _has_own_edges(obs)):
            return None
        cut = first.cut + obs.cut
        if "l" in cut and "r" in cut or "t" in cut and "b" in cut:
            return None  # cut on one side in one sample and on the other in the other
        x_of = _X_EDGE["r" if "r" in cut else "l" if "l" in cut else ""]
        y_of = _Y_EDGE["b" if "b" in cut else ""]
        return (x_of(first.box), y_of(first.box)), (x_of(obs.box), y_of(obs.box))

    def _move(self, first: TrackObservation, obs: TrackObservation,
              anchors: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float, float, float]:
        """(dx, dy, length, threshold) of the move from ``first`` to ``obs``, in comparable units."""
        a, b = anchors
        if self.ruler.calibration is not None:
            a, b = self.ruler.calibration.to_ground(a), self.ruler.calibration.to_ground(b)
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy)
        if self.zone.min_distance is not None:
            if self.ruler.calibration is not None:
                length = math.hypot(anchors[1][0] - anchors[0][0], anchors[1][1] - anchors[0][1])
            return dx, dy, length, self.zone.min_distance
        if self.ruler.calibration is None:
            # By the vehicle's own size, using its larger box of the two (the nearer one).
            box = obs.box if obs.box[3] - obs.box[1] >= first.box[3] - first.box[1] else first.box
            length = length / Ruler.px_per_m(box, obs.class_name)
        return dx, dy, length, self.zone.min_distance_m

    def _step(self, obs: TrackObservation) -> ViolationEvent | None:
        if obs.class_name == RIDER_CLASS and obs.carried_by is not None:
            return None
        if not _has_own_edges(obs):
            return None  # no edge of its own left in some direction (see _anchors)
        inside = self._inside(obs)
        if self._prehistory and obs.class_name in PERSON_CLASSES:
            return self._remember(obs, inside)
        key = self._alias.get(obs.track_id, obs.track_id)
        s = self._stays.get(key)
        if s is not None and s.walking:  # the person turned out to ride: judge from here, over the path so far
            s.walking = False
            taken_over = self._handover(obs, appeared=s.appeared)
            if taken_over != obs.track_id:  # a rider lost just before this track appeared: that case goes on
                del self._stays[key]
                key, s = taken_over, self._stays[taken_over]
                if obs.track_id not in s.track_ids:
                    s.track_ids.append(obs.track_id)
        if s is None:
            if not inside:
                return None
            key = self._handover(obs)
            s = self._stays.get(key)
            if s is None:
                s = self._stays[key] = _Stay(last_t=obs.t, track_ids=[obs.track_id])
            elif obs.track_id not in s.track_ids:
                s.track_ids.append(obs.track_id)
        s.last_t = obs.t
        if not inside:
            s.out_run += 1
            if s.out_run >= self.exit_samples:
                return self._close(key)
            return None
        s.out_run = 0
        s.last_inside = obs
        s.window.append(obs)
        while len(s.window) > 1 and obs.t - s.window[1].t >= self.zone.window_s:
            s.window.popleft()
        if s.start is not None:
            s.path.add(obs)
            s.confidences.append(obs.confidence)

        first = s.window[0]
        span = obs.t - first.t
        wrong = False
        anchors = self._anchors(first, obs)
        if span >= self.min_window_s and anchors is not None:
            dx, dy, dist, threshold = self._move(first, obs, anchors)
            norm = math.hypot(dx, dy)
            (ax, ay), (bx, by) = anchors
            px = math.hypot(bx - ax, by - ay)
            if dist >= threshold and norm > 0 and px >= MIN_MOVE_PX:
                cos = (dx * self.dir[0] + dy * self.dir[1]) / norm
                if cos < self.zone.max_cosine:
                    wrong = True
                    s.cosines.append(cos)
                    s.speeds.append(dist / span)
        if s.start is not None:
            return None
        if wrong:
            if s.wrong_run == 0:
                s.pending_start = first
            s.wrong_run += 1
            if s.wrong_run >= self.confirm_samples:
                s.start, s.key = s.pending_start, obs
                # The path starts where the first wrong-way window started.
                for o in s.window:
                    if o.t >= s.start.t:
                        s.path.add(o)
                        s.confidences.append(o.confidence)
        else:
            s.wrong_run = 0
            s.pending_start = None
            s.cosines.clear()
            s.speeds.clear()
        return None

    def _remember(self, obs: TrackObservation, inside: bool) -> None:
        """Keep a person's last ``window_s`` of samples in the lane, unjudged."""
        s = self._stays.get(obs.track_id)
        if s is None:
            if not inside:
                return None
            s = self._stays[obs.track_id] = _Stay(last_t=obs.t, track_ids=[obs.track_id], walking=True, appeared=obs)
        s.last_t = obs.t
        if not s.walking:
            return None  # a rider that the linker still reports as a person cannot happen; keep its case
        if not inside:
            s.window.clear()  # left the lane: a later window starts afresh, as a rider's would
            return None
        s.window.append(obs)
        while len(s.window) > 1 and obs.t - s.window[1].t >= self.zone.window_s:
            s.window.popleft()
        return None

    def _handover(self, obs: TrackObservation, appeared: TrackObservation | None = None) -> int:
        """Key of a confirmed wrong-way stay that this new track continues, else its own id.

        A rider whose id changes mid-lane would otherwise give two cases; a new id that appears
        within ``handover_s`` of the moment a confirmed wrong-way rider was last seen, where that
        rider was heading (``_where_heading``), and while that rider is not in this frame, takes
        over that rider's case. ``appeared``:
        the track's first sample in the lane when it was followed as a person before it rode; the
        test is made there (a cyclist followed for seconds is no re-found id of a car lost just now).
        """
        first = appeared or obs
        for key, s in self._stays.items():
            if s.start is None or s.last_inside is None or s.last_t >= first.t:
                continue
            if first.t - s.last_t > self.handover_s:
                continue
            if any(tid in self._in_frame and tid != obs.track_id for tid in s.track_ids):
                continue  # its object is in this frame, listed after this track
            if self._where_heading(s, first):
                self._alias[obs.track_id] = key
                return key
        return obs.track_id

    def _where_heading(self, s: _Stay, first: TrackObservation) -> bool:
        """``first`` lies within ``handover_heights`` box heights of where the lost object of ``s``
        was heading (its last ground point moved on by its motion over the judging window).

        By the object's size and its motion, not a fixed radius around where it was last seen: on
        the motorway (320x240 picture) a 60 px radius handed one car's case to every car that
        entered the lane behind it or reached the picture's edge after it, and one case held eight
        cars."""
        last = s.last_inside
        w0 = s.window[0] if s.window else last
        px, py = heading_point((w0.t, *w0.ground), (last.t, *last.ground), first.t)
        height = max(last.box[3] - last.box[1], 1.0)
        return math.hypot(first.ground[0] - px, first.ground[1] - py) <= self.handover_heights * height

    def _close(self, key: int) -> ViolationEvent | None:
        s = self._stays.pop(key)
        for tid in [k for k, v in self._alias.items() if v == key]:
            del self._alias[tid]
        if s.start is None or s.key is None or s.last_inside is None:
            return None
        cos = sum(s.cosines) / len(s.cosines) if s.cosines else -1.0
        speed = sum(s.speeds) / len(s.speeds) if s.speeds else 0.0
        conf = sum(s.confidences) / len(s.confidences) if s.confidences else s.key.confidence
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        cls = s.key.class_name
        return ViolationEvent(
            rule=RULE,
            zone=self.zone.name,
            start_s=s.start.t,
            end_s=s.last_inside.t,
            key_t=s.key.t,
            object_class=cls,
            track_ids=list(s.track_ids),
            confidence=round(float(conf), 3),
            explanation=(
                f"{cls} {', '.join(f'#{i}' for i in s.track_ids)} travelled against the direction of {self.zone.shown('en')} "
                f"({angle:.0f}° off the lane direction) from {s.start.t:.1f} s to {s.last_inside.t:.1f} s"
            ),
            explanation_zh=(
                f"{class_zh(cls)} {ids_text(s.track_ids)} 在车道 {self.zone.shown('zh-CN')} 内逆向行驶"
                f"（与规定方向相差 {angle:.0f}°），时间 {s.start.t:.1f} 秒至 {s.last_inside.t:.1f} 秒"
            ),
            key_box=s.key.box,
            path=list(s.path.points),
            details={
                "mean_cosine": round(cos, 3),
                "angle_deg": round(angle, 1),
                "mean_speed": round(speed, 2),
                "speed_unit": "px/s" if self.zone.min_distance is not None else "m/s",
                "window_s": self.zone.window_s,
                "lane_direction": [round(self.dir[0], 4), round(self.dir[1], 4)],
            },
        )
