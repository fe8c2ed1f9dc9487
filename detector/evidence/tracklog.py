"""What the analysis saw, kept by analysis time so full-rate clips can be annotated afterwards.

The detector runs on thinned frames (e.g. 10 fps) but the clips carry every source frame, so the
annotator draws, at each clip frame, the latest analysis result at or before it, as long as it is
recent (about 1.5 analysis intervals); older results are stale and drawing them would show boxes
where nothing is. The pipeline must ``add`` every analysis instant, also those with nothing in
view, so that "nothing there" is distinguishable from "not analysed".

Both logs are plain lists of primitives underneath: picklable, and ``to_dict``/``from_dict`` give
JSON-ready forms.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from statistics import median
from typing import Iterable

import numpy as np

from detector.types import SignalColor, TrackObservation


@dataclass
class TrackLog:
    """Every ``TrackObservation`` grouped by analysis instant, instants in increasing order."""

    times: list[float] = field(default_factory=list)
    frames: list[tuple[TrackObservation, ...]] = field(default_factory=list)
    # Drone footage: per analysis instant, the 3x3 homography (row-major) from the reference's
    # scene px to that picture's scene px, so zones drawn on the reference can be drawn where they
    # lie in each frame of a moving picture. Empty for a fixed camera.
    views: dict[float, tuple[float, ...]] = field(default_factory=dict)

    def add_view(self, t: float, homography) -> None:  # noqa: ANN001 - 3x3 array-like
        self.views[float(t)] = tuple(float(v) for v in np.asarray(homography, np.float64).ravel())

    def view_at(self, t: float, max_age: float | None = None) -> tuple[float, ...] | None:
        """The view of the analysis instant nearest ``t`` (within ``max_age``), None if none."""
        if not self.views:
            return None
        nearest = min(self.views, key=lambda k: abs(k - t))
        limit = self.max_age() if max_age is None else max_age
        return self.views[nearest] if abs(nearest - t) <= limit else None

    def add(self, t: float, observations: Iterable[TrackObservation]) -> None:
        """Record one analysis instant; a repeated time merges, an out-of-order one is inserted
        in place (some containers deliver timestamps out of order)."""
        obs, t = tuple(observations), float(t)
        i = bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            self.frames[i] = self.frames[i] + obs
            return
        self.times.insert(i, t)
        self.frames.insert(i, obs)

    def __len__(self) -> int:
        return len(self.times)

    def interval(self) -> float | None:
        """Typical spacing of analysis instants (median), None with fewer than two."""
        if len(self.times) < 2:
            return None
        return median(b - a for a, b in zip(self.times, self.times[1:]))

    def max_age(self) -> float:
        """How old an analysis result may be and still be drawn on a frame."""
        step = self.interval()
        return 1.5 * step if step else 0.5

    def at(self, t: float, max_age: float | None = None) -> tuple[TrackObservation, ...]:
        """Observations of the latest analysis instant at or before ``t``, if recent enough."""
        i = bisect_right(self.times, t + 1e-9) - 1
        if i < 0:
            return ()
        limit = self.max_age() if max_age is None else max_age
        if t - self.times[i] > limit:
            return ()
        return self.frames[i]

    def track(self, track_ids: Iterable[int], t0: float = float("-inf"), t1: float = float("inf")) -> list[TrackObservation]:
        """The given tracks' observations with ``t0 <= t <= t1``, in time order."""
        wanted = set(track_ids)
        out: list[TrackObservation] = []
        lo = bisect_right(self.times, t0 - 1e-9)
        for i in range(lo, len(self.times)):
            if self.times[i] > t1 + 1e-9:
                break
            out.extend(o for o in self.frames[i] if o.track_id in wanted)
        return out

    def to_dict(self) -> dict:
        data = {
            "times": list(self.times),
            "frames": [
                [[o.t, o.track_id, o.class_name, list(o.box), o.confidence] for o in frame] for frame in self.frames
            ],
        }
        if self.views:
            data["views"] = [[t, *h] for t, h in sorted(self.views.items())]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrackLog":
        frames = [
            tuple(TrackObservation(float(t), int(i), str(c), tuple(float(v) for v in box), float(conf))
                  for t, i, c, box, conf in frame)
            for frame in data["frames"]
        ]
        views = {float(v[0]): tuple(float(x) for x in v[1:10]) for v in data.get("views") or []}
        return cls([float(t) for t in data["times"]], frames, views)


@dataclass
class SignalLog:
    """Signal states per analysis instant; a state holds until the next entry."""

    times: list[float] = field(default_factory=list)
    states: list[dict[str, SignalColor]] = field(default_factory=list)

    def add(self, t: float, states: dict[str, SignalColor]) -> None:
        """Record the states at one instant (same time merges; out-of-order is inserted in place)."""
        t, states = float(t), {k: SignalColor(v) for k, v in states.items()}
        i = bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            self.states[i] = {**self.states[i], **states}
            return
        self.times.insert(i, t)
        self.states.insert(i, states)

    def __len__(self) -> int:
        return len(self.times)

    def at(self, t: float) -> dict[str, SignalColor]:
        """States at the latest instant at or before ``t``; empty before the first entry."""
        i = bisect_right(self.times, t + 1e-9) - 1
        return dict(self.states[i]) if i >= 0 else {}

    def to_dict(self) -> dict:
        return {"times": list(self.times), "states": [{k: v.value for k, v in s.items()} for s in self.states]}

    @classmethod
    def from_dict(cls, data: dict) -> "SignalLog":
        return cls([float(t) for t in data["times"]],
                   [{k: SignalColor(v) for k, v in s.items()} for s in data["states"]])
