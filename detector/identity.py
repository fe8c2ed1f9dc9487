"""Tracks that mean one object: split identity switches, join fragments, vote the class.

ByteTrack-class trackers associate boxes by overlap, so when a bus leaves the bottom of the frame
and the car behind it takes its place, the bus's id passes to the car; the "motion" between the
two is a jump that looks like travel against the lane. And when a walker is hidden for a second,
the tracker gives them a new id, so one crossing becomes two. This stage sits between the tracker
and the rules and repairs both, online (one frame at a time, no look-ahead):

* **split**: a track whose box jumps in position (beyond what its own recent velocity predicts,
  by more than a share of its size) or in size (height or width changes by a factor at once), or
  whose class family changes (person / two-wheeler / four-wheeler), continues under a new id from
  that sample on. Rules never see a motion made of two objects.
* **join**: a track the tracker starts fresh, appearing within ``join_gap_s`` of where a lost
  track of the same family was heading (predicted by its velocity, within a share of its size,
  similar size), continues that lost track's id.
* **class**: the class of a track is the confidence-weighted majority over its life so far
  (a car is not a truck in every other frame).

Output ids are this stage's own (1, 2, 3... in order of appearance), so they stay small and
unique even after splits.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import count

from detector.types import Box, TrackObservation

FAMILIES = {
    "person": "person",
    "rider": "person",
    "bicycle": "two_wheeler",
    "motorcycle": "two_wheeler",
    "car": "four_wheeler",
    "truck": "four_wheeler",
    "bus": "four_wheeler",
    "train": "four_wheeler",
}


def family(class_name: str) -> str:
    return FAMILIES.get(class_name, class_name)


def _centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


@dataclass
class _Out:
    """One output track: what it looked like lately and how it moved."""

    out_id: int
    last: TrackObservation
    w: float
    h: float
    vx: float = 0.0  # centre velocity, px/s
    vy: float = 0.0
    votes: Counter = field(default_factory=Counter)
    samples: int = 0
    odd_family_run: int = 0

    @property
    def family(self) -> str:
        if not self.votes:
            return family(self.last.class_name)
        fam: Counter = Counter()
        for name, weight in self.votes.items():
            fam[family(name)] += weight
        return fam.most_common(1)[0][0]

    def predict(self, t: float) -> tuple[float, float]:
        cx, cy = _centre(self.last.box)
        dt = min(max(t - self.last.t, 0.0), 1.0)
        return cx + self.vx * dt, cy + self.vy * dt


class IdentityGuard:
    """Online repair of tracker output; see the module docstring.

    ``max_jump``: largest distance from the predicted centre, in box sizes (the larger side).
    ``max_size_ratio``: largest factor by which height or width may change from one sample to the next.
    ``join_gap_s`` / ``join_distance``: how long a lost track may be re-found, and how near (in box
    heights of the lost track) to where it was heading.
    """

    def __init__(self, *, max_jump: float = 0.8, max_size_ratio: float = 1.7, join_gap_s: float = 1.5,
                 join_distance: float = 0.8, family_run: int = 2) -> None:
        self.max_jump = max_jump
        self.max_size_ratio = max_size_ratio
        self.join_gap_s = join_gap_s
        self.join_distance = join_distance
        self.family_run = family_run
        self._ids = count(1)
        self._by_raw: dict[int, _Out] = {}  # tracker id -> current output track
        self._lost: dict[int, _Out] = {}  # output id -> track not seen lately (join candidates)
        self.splits = 0
        self.joins = 0

    def update(self, t: float, observations: list[TrackObservation]) -> list[TrackObservation]:
        seen_raw = {o.track_id for o in observations}
        # Tracks whose raw id is gone this frame become join candidates.
        for raw in [r for r in self._by_raw if r not in seen_raw]:
            out = self._by_raw.pop(raw)
            self._lost[out.out_id] = out
        self._lost = {k: v for k, v in self._lost.items() if t - v.last.t <= self.join_gap_s}

        active = {o.out_id for o in self._by_raw.values()}
        result = []
        for obs in observations:
            out = self._by_raw.get(obs.track_id)
            if out is None:
                out = self._join(obs, active) or self._new(obs)
                self._by_raw[obs.track_id] = out
            elif self._broken(out, obs):
                self.splits += 1
                out = self._by_raw[obs.track_id] = self._new(obs)
            active.add(out.out_id)
            self._advance(out, obs)
            result.append(replace(obs, track_id=out.out_id, class_name=out.votes.most_common(1)[0][0]))
        return result

    # -- decisions -----------------------------------------------------------------------------
    def _broken(self, out: _Out, obs: TrackObservation) -> bool:
        x1, y1, x2, y2 = obs.box
        w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        if max(w / out.w, out.w / w, h / out.h, out.h / h) > self.max_size_ratio:
            return True
        px, py = out.predict(obs.t)
        cx, cy = _centre(obs.box)
        if math.hypot(cx - px, cy - py) > self.max_jump * max(out.w, out.h, w, h):
            return True
        if out.samples >= 3 and family(obs.class_name) != out.family:
            out.odd_family_run += 1
            return out.odd_family_run >= self.family_run
        out.odd_family_run = 0
        return False

    def _join(self, obs: TrackObservation, active: set[int]) -> _Out | None:
        fam = family(obs.class_name)
        cx, cy = _centre(obs.box)
        h = max(obs.box[3] - obs.box[1], 1.0)
        best, best_d = None, math.inf
        for out in self._lost.values():
            if out.out_id in active or out.family != fam or obs.t <= out.last.t:
                continue
            if max(h / out.h, out.h / h) > 1.5:
                continue
            px, py = out.predict(obs.t)
            d = math.hypot(cx - px, cy - py)
            if d <= self.join_distance * out.h and d < best_d:
                best, best_d = out, d
        if best is not None:
            del self._lost[best.out_id]
            self.joins += 1
        return best

    def _new(self, obs: TrackObservation) -> _Out:
        x1, y1, x2, y2 = obs.box
        return _Out(next(self._ids), obs, max(x2 - x1, 1.0), max(y2 - y1, 1.0))

    @staticmethod
    def _advance(out: _Out, obs: TrackObservation) -> None:
        if out.samples:
            dt = obs.t - out.last.t
            if dt > 0:
                (ax, ay), (bx, by) = _centre(out.last.box), _centre(obs.box)
                vx, vy = (bx - ax) / dt, (by - ay) / dt
                alpha = 0.5 if out.samples > 1 else 1.0
                out.vx = (1 - alpha) * out.vx + alpha * vx
                out.vy = (1 - alpha) * out.vy + alpha * vy
        x1, y1, x2, y2 = obs.box
        out.w = 0.6 * out.w + 0.4 * max(x2 - x1, 1.0) if out.samples else max(x2 - x1, 1.0)
        out.h = 0.6 * out.h + 0.4 * max(y2 - y1, 1.0) if out.samples else max(y2 - y1, 1.0)
        out.last = obs
        out.samples += 1
        out.votes[obs.class_name] += max(obs.confidence, 1e-3)
