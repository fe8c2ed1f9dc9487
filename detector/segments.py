"""One source, analysed in parts: the span each part owns and the history it must read first.

Long uploads are split across workers, and live cameras arrive as fixed segments; an offence that
straddles a boundary must still be found exactly once. Handing tracker and rule state from one
segment to the next would serialise the segments (no parallel workers) and tie a retry to the
state its predecessor left. Instead every segment reads a **pre-roll** before its own span, long
enough for any rule to rebuild the history it judges by, and keeps only the cases **decided**
inside its own span (``ViolationEvent.decided_s``: the entry on red, the parking limit reached,
the wrong-way judgement, litter left long enough). The decision of a case needs at most the
pre-roll of history before it, so the segment that owns the decision moment sees all of it, and
no other segment keeps it.

What a segment cannot rebuild from its pre-roll (an object already parked longer than the pre-roll
when it starts) was decided earlier, in the segment that owned that moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, Scene

# Time for the tracker, identity guard and motion compensation to settle at the start of a read:
# a few samples of every track (and of the signal light) before any rule can decide.
SETTLE_S = 5.0
# The wrong-way rule needs a few consecutive windows (``confirm_samples``) before it decides.
WRONG_WAY_WINDOWS = 3
# The litter rule compares against a background it must first learn from the picture.
BACKGROUND_LEARN_S = 10.0
# Cases are judged on the analysis grid; boundaries fall on it (0.1 s at the default 10 fps).
GRID_S = 0.1


class SpanError(ValueError):
    """A span or pre-roll that cannot be read (outside the video, empty, negative)."""


@dataclass(frozen=True)
class Span:
    """A segment's own part of the source, in source seconds: ``start <= t < end``."""

    start: float
    end: float

    def owns(self, t: float, last: bool = False) -> bool:
        """Whether a case decided at ``t`` is this segment's (the last segment keeps its end too)."""
        return self.start - 1e-6 <= t and (t < self.end - 1e-6 or last)

    def as_list(self) -> list[float]:
        return [round(self.start, 3), round(self.end, 3)]


def required_preroll(scene: Scene) -> float:
    """Seconds of video a segment must read before its span so every rule of ``scene`` can decide
    exactly as it would reading the source from the top (see the module docstring)."""
    need = 0.0
    for zone in scene.zones:
        if isinstance(zone, NoParkingZone):
            need = max(need, zone.max_stop_s + zone.gap_s)
        elif isinstance(zone, NoLitterZone):
            need = max(need, zone.min_static_s + BACKGROUND_LEARN_S)
        elif isinstance(zone, LaneZone):
            need = max(need, zone.window_s * WRONG_WAY_WINDOWS)
        elif isinstance(zone, CrosswalkZone):
            need = max(need, zone.grace_s + 2.0)
    return _on_grid(need + SETTLE_S)


def plan_segments(duration_s: float, segment_s: float) -> list[Span]:
    """Consecutive spans of ``segment_s`` covering ``[0, duration_s)``; a short tail (under half a
    segment) joins the last one, so no worker is started for a few seconds of video."""
    if duration_s <= 0:
        return []
    if segment_s <= 0:
        raise ValueError("segment length must be positive")
    segment_s = max(GRID_S, _on_grid(segment_s))
    count = max(1, math.floor(duration_s / segment_s + 0.5))
    bounds = [_on_grid(i * segment_s) for i in range(count)] + [duration_s]
    return [Span(a, b) for a, b in zip(bounds, bounds[1:])]


def _on_grid(t: float) -> float:
    return math.ceil(round(t / GRID_S, 6)) * GRID_S
