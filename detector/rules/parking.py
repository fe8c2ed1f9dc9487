"""Vehicles that stop in a no-parking zone for longer than allowed.

Dwell timers keyed on the tracker id fail in the field: a bus drives past, the parked car is
hidden for four seconds, comes back with a new id, and the timer starts again from zero. So the
dwell here is keyed on the *place*: a **stay** is a spot in the zone (an anchor ground point)
where some vehicle has been standing. Observations join a stay by distance (within
``stationary_radius`` of the anchor) and the stay survives gaps of up to ``gap_s`` with nobody
seen there. All track ids seen at the spot are collected.

Two details keep queues from looking like parking:

* The anchor is the mean of the first few points and is then frozen. A queue creeps; a running
  mean would creep along with the car and the "stay" would never end. With a frozen anchor the
  creeping car leaves the radius and its stay ends before ``max_stop_s``.
* A track may join an existing stay only if it is already a member, or if it was *born at the
  spot* (its first observation lies near the anchor): that is what an id switch or a re-detection
  after occlusion looks like. A car that drove up from elsewhere (the next car in a queue rolling
  into the spot the previous one left) starts its own stay, so a queue of cars stopping at the
  same line for 20 s each never adds up to one long stay.

Distances (``stationary_radius_m``) are in metres: through the scene's ground calibration, else by
the vehicle's own box height, so a car far away needs to stand as still as a near one; a zone that
gives ``stationary_radius`` in pixels (earlier scene files) keeps pixel distances. A track is a
member of at most one open stay: when a member opens a new stay (it crept or the camera swayed it
out of the old radius), its old stay ends there, so one stopped car never has two stays open at once.
With ``trigger: footprint`` a vehicle is in the zone when enough of its box's bottom band is.

A stay longer than ``max_stop_s`` becomes one case with its true start (when the vehicle first
stood there) and end (last seen there); it is emitted when the stay ends or at the end of video.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import count

from detector.geometry import Ruler, footprint_overlap
from detector.rules._common import ZoneShape
from detector.scene import NoParkingZone
from detector.explain import class_zh, ids_text
from detector.types import Box, FrameContext, Point, TrackObservation, ViolationEvent

RULE = "illegal_parking"
DEFAULT_CLASSES = frozenset({"car", "truck", "bus", "motorcycle"})


def _dist(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


@dataclass
class _TrackSeen:
    first_point: Point
    last_point: Point
    last_t: float
    box: Box
    class_name: str


@dataclass
class _Stay:
    stay_id: int
    anchor: Point
    start_t: float
    last_t: float
    anchor_sum: tuple[float, float] = (0.0, 0.0)
    anchor_n: int = 0
    track_ids: list[int] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    confidences: list[float] = field(default_factory=list)
    samples: int = 0
    longest_gap_s: float = 0.0
    seen_s: float = 0.0  # time covered by samples no further apart than SEEN_GAP_S
    path: list[tuple[float, float, float]] = field(default_factory=list)
    key: TrackObservation | None = None  # observation when the stay passed max_stop_s
    last_box: Box | None = None


class IllegalParkingRule:
    """One no-parking zone.

    ``anchor_samples``: points averaged into a stay's anchor before it is frozen.
    ``join_radius_factor``: how near the anchor (in radii) a new track must be born to take over
    a stay; a little more than one radius because a re-detected box differs from the old one.
    ``path_step_s``: the stored path keeps one point per this many seconds (a parked car's path is
    a dot; an hour of it at 10 fps would bloat the case file for nothing).
    """

    SEEN_GAP_S = 1.0

    def __init__(
        self,
        zone: NoParkingZone,
        *,
        anchor_samples: int = 5,
        join_radius_factor: float = 2.0,
        path_step_s: float = 0.5,
        ruler: Ruler | None = None,
    ) -> None:
        self.zone = zone
        self.shape = ZoneShape.of(zone.polygon)
        self.ruler = ruler or Ruler()
        self.classes = frozenset(zone.classes) if zone.classes else DEFAULT_CLASSES
        self.radius_px = zone.stationary_radius  # None: metres
        self.radius_m = zone.stationary_radius_m
        self.gap_s = zone.gap_s
        self.anchor_samples = max(1, anchor_samples)
        self.join_factor = join_radius_factor
        self.path_step_s = path_step_s
        self._stays: list[_Stay] = []
        self._tracks: dict[int, _TrackSeen] = {}
        self._ids = count(1)

    # -- Rule protocol -------------------------------------------------------------------------
    def update(self, ctx: FrameContext) -> list[ViolationEvent]:
        t = ctx.t
        obs_list = [o for o in ctx.observations if o.class_name in self.classes]
        alive = [s for s in self._stays if t - s.last_t <= self.gap_s]

        # Greedy matching, members first, then by distance: one observation per stay per frame.
        pairs = []
        for i, o in enumerate(obs_list):
            g = o.ground
            for s in alive:
                d = self._radii(g, s.anchor, o.box, o.class_name)
                if d <= 1.0 and self._may_join(o, s):
                    pairs.append((o.track_id not in s.track_ids, d, i, s.stay_id))
        pairs.sort()
        used_obs: set[int] = set()
        used_stays: set[int] = set()
        by_id = {s.stay_id: s for s in alive}
        for _, _, i, sid in pairs:
            if i in used_obs or sid in used_stays:
                continue
            used_obs.add(i)
            used_stays.add(sid)
            self._join(by_id[sid], obs_list[i])

        events: list[ViolationEvent] = []
        for i, o in enumerate(obs_list):
            if i in used_obs:
                continue
            if self._inside(o) and self._slow(o):
                events += self._end_stays_of(o.track_id, except_ids=used_stays)
                s = _Stay(next(self._ids), o.ground, o.t, o.t)
                self._stays.append(s)
                self._join(s, o)

        for o in obs_list:
            seen = self._tracks.get(o.track_id)
            if seen is None:
                self._tracks[o.track_id] = _TrackSeen(o.ground, o.ground, o.t, o.box, o.class_name)
            else:
                seen.last_point, seen.last_t, seen.box = o.ground, o.t, o.box

        events += self._close_older_than(t - self.gap_s)
        self._tracks = {k: v for k, v in self._tracks.items() if t - v.last_t <= 2 * self.gap_s + 1}
        return events

    def finish(self, t_end: float) -> list[ViolationEvent]:
        return self._close_older_than(math.inf)

    # -- helpers -------------------------------------------------------------------------------
    def _radii(self, a: Point, b: Point, box: Box, class_name: str) -> float:
        """Distance from ``a`` to ``b`` in stationary radii (pixels or metres, as the zone says)."""
        if self.radius_px is not None:
            return _dist(a, b) / self.radius_px
        return self.ruler.distance_m(a, b, box, class_name) / self.radius_m

    def _inside(self, o: TrackObservation) -> bool:
        if self.zone.trigger == "footprint":
            return footprint_overlap(self.shape.polygon, o.box) >= self.zone.min_overlap
        return self.shape.contains(o.ground)

    def _end_stays_of(self, track_id: int, except_ids: set[int]) -> list[ViolationEvent]:
        """End every open stay ``track_id`` alone belongs to: it is opening a new one elsewhere."""
        return self._end_stays(lambda s: s.stay_id not in except_ids and s.track_ids == [track_id])

    def _end_stays(self, ends) -> list[ViolationEvent]:  # noqa: ANN001 - predicate on a stay
        """Remove the stays ``ends`` picks; those that passed the limit become events."""
        events, keep = [], []
        for s in self._stays:
            if ends(s):
                if s.key is not None:
                    events.append(self._event(s))
            else:
                keep.append(s)
        self._stays = keep
        return events

    def _may_join(self, o: TrackObservation, s: _Stay) -> bool:
        if o.track_id in s.track_ids:
            return True
        seen = self._tracks.get(o.track_id)
        # Unknown track (first sample) or one born near the anchor: an id switch or re-detection...
        born_here = seen is None or self._radii(seen.first_point, s.anchor, o.box, o.class_name) <= self.join_factor
        # ...but only if the stay's own vehicle vanished at the spot. If it was last seen driving
        # away, the newcomer is the next car in the queue, not the same car under a new id.
        return born_here and not self._occupant_drove_off(s)

    def _occupant_drove_off(self, s: _Stay) -> bool:
        last = [self._tracks[i] for i in s.track_ids if i in self._tracks]
        return bool(last) and all(
            self._radii(seen.last_point, s.anchor, seen.box, seen.class_name) > self.join_factor for seen in last
        )

    def _slow(self, o: TrackObservation) -> bool:
        """Only a track that is not clearly driving may open a stay (keeps the stay list short)."""
        seen = self._tracks.get(o.track_id)
        return seen is None or self._radii(seen.last_point, o.ground, o.box, o.class_name) <= 1.0

    def _join(self, s: _Stay, o: TrackObservation) -> None:
        if s.samples:
            gap = o.t - s.last_t
            s.longest_gap_s = max(s.longest_gap_s, gap)
            if gap <= self.SEEN_GAP_S:
                s.seen_s += gap
        s.last_t = o.t
        s.samples += 1
        if s.anchor_n < self.anchor_samples:
            sx, sy = s.anchor_sum
            g = o.ground
            s.anchor_sum = (sx + g[0], sy + g[1])
            s.anchor_n += 1
            s.anchor = (s.anchor_sum[0] / s.anchor_n, s.anchor_sum[1] / s.anchor_n)
        if o.track_id not in s.track_ids:
            s.track_ids.append(o.track_id)
        s.classes[o.class_name] += 1
        s.confidences.append(o.confidence)
        s.last_box = o.box
        if not s.path or o.t - s.path[-1][0] >= self.path_step_s:
            x, y = o.ground
            s.path.append((o.t, round(x, 1), round(y, 1)))
        if s.key is None and o.t - s.start_t >= self.zone.max_stop_s:
            s.key = o

    def _close_older_than(self, t_limit: float) -> list[ViolationEvent]:
        return self._end_stays(lambda s: s.last_t < t_limit)

    def _event(self, s: _Stay) -> ViolationEvent:
        assert s.key is not None
        cls = s.classes.most_common(1)[0][0]
        dur = s.last_t - s.start_t
        ids = ", ".join(f"#{i}" for i in s.track_ids)
        conf = sum(s.confidences) / len(s.confidences)
        # Share of the stay we actually saw the vehicle (long occlusions lower the confidence).
        seen_fraction = min(1.0, s.seen_s / dur) if dur > 0 else 1.0
        path = list(s.path)
        x, y = s.key.ground
        if path[-1][0] < s.last_t and s.last_box is not None:
            gx, gy = (s.last_box[0] + s.last_box[2]) / 2, s.last_box[3]
            path.append((s.last_t, round(gx, 1), round(gy, 1)))
        return ViolationEvent(
            rule=RULE,
            zone=self.zone.name,
            start_s=s.start_t,
            end_s=s.last_t,
            key_t=s.key.t,
            object_class=cls,
            track_ids=list(s.track_ids),
            confidence=round(float(conf * (0.5 + 0.5 * seen_fraction)), 3),
            explanation=(
                f"{cls} {ids} stood in {self.zone.shown('en')} for {dur:.1f} s "
                f"(from {s.start_t:.1f} s to {s.last_t:.1f} s), over the {self.zone.max_stop_s:g} s limit"
            ),
            explanation_zh=(
                f"{class_zh(cls)} {ids_text(s.track_ids)} 在禁停区 {self.zone.shown('zh-CN')} 停留 {dur:.1f} 秒"
                f"（{s.start_t:.1f} 秒至 {s.last_t:.1f} 秒），超过 {self.zone.max_stop_s:g} 秒限值"
            ),
            key_box=s.key.box,
            path=path,
            details={
                "dwell_s": round(dur, 2),
                "max_stop_s": self.zone.max_stop_s,
                "anchor": [round(s.anchor[0], 1), round(s.anchor[1], 1)],
                "longest_gap_s": round(s.longest_gap_s, 2),
                "seen_fraction": round(seen_fraction, 3),
                "samples": s.samples,
                "key_point": [round(x, 1), round(y, 1)],
                # The stay ended with its vehicle last seen at the spot (hidden, or lost by the
                # detector), not driving off: a stay that follows at the same spot is the same stop.
                "vanished_at_spot": not self._occupant_drove_off(s),
            },
        )
