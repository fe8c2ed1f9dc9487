"""Scripted tracks: build TrackObservation sequences and feed them to a rule frame by frame.

Tests describe motion as key points ``(t, x, y)`` of the ground point; the helpers interpolate at
the analysis rate, add optional jitter, and wrap the result into the ``FrameContext`` sequence the
pipeline would produce, so every rule test reads like a small scene description.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Callable, Iterable

from detector.types import FrameContext, SignalColor, StaticObject, TrackObservation, ViolationEvent

FPS = 10.0

SIZES = {"person": (30.0, 80.0), "bicycle": (40.0, 60.0), "motorcycle": (50.0, 60.0), "car": (120.0, 70.0)}


def tq(t: float) -> float:
    """Times on the analysis grid, rounded so that equal instants compare equal."""
    return round(round(t * FPS) / FPS, 4)


def obs_at(t: float, tid: int, cls: str, x: float, y: float, conf: float = 0.8) -> TrackObservation:
    w, h = SIZES.get(cls, (40.0, 40.0))
    return TrackObservation(tq(t), tid, cls, (x - w / 2, y - h, x + w / 2, y), conf)


def path(
    tid: int,
    cls: str,
    keys: list[tuple[float, float, float]],
    *,
    jitter: float = 0.0,
    seed: int = 0,
    fps: float = FPS,
) -> list[TrackObservation]:
    """Observations every 1/fps s along the polyline through ``keys`` = [(t, x, y), ...]."""
    rng = random.Random(seed)
    out = []
    n0 = round(keys[0][0] * fps)
    n1 = round(keys[-1][0] * fps)
    for n in range(n0, n1 + 1):
        t = n / fps
        for (ta, xa, ya), (tb, xb, yb) in zip(keys, keys[1:]):
            if ta <= t <= tb:
                f = 0.0 if tb == ta else (t - ta) / (tb - ta)
                x, y = xa + f * (xb - xa), ya + f * (yb - ya)
                break
        else:
            x, y = keys[-1][1], keys[-1][2]
        if jitter:
            x += rng.uniform(-jitter, jitter)
            y += rng.uniform(-jitter, jitter)
        out.append(obs_at(t, tid, cls, x, y))
    return out


def still(tid: int, cls: str, t0: float, t1: float, x: float, y: float, **kw) -> list[TrackObservation]:
    return path(tid, cls, [(t0, x, y), (t1, x, y)], **kw)


def drop(observations: Iterable[TrackObservation], t0: float, t1: float) -> list[TrackObservation]:
    """Remove samples in [t0, t1): an occlusion or detector miss."""
    return [o for o in observations if not (t0 <= o.t < t1)]


def relabel(observations: Iterable[TrackObservation], t_from: float, new_id: int) -> list[TrackObservation]:
    """The tracker switches to ``new_id`` from ``t_from`` on."""
    return [
        TrackObservation(o.t, new_id, o.class_name, o.box, o.confidence) if o.t >= t_from else o
        for o in observations
    ]


SignalFn = Callable[[float], dict[str, SignalColor]]
StaticFn = Callable[[float], tuple[StaticObject, ...]]


def run(
    rule,
    observations: Iterable[TrackObservation],
    *,
    t_end: float,
    t_start: float = 0.0,
    signals: SignalFn | None = None,
    static: StaticFn | None = None,
) -> list[ViolationEvent]:
    """Drive ``rule`` over every analysis instant from t_start to t_end, then finish it."""
    by_t: dict[float, list[TrackObservation]] = defaultdict(list)
    for o in observations:
        by_t[tq(o.t)].append(o)
    events: list[ViolationEvent] = []
    n0, n1 = round(t_start * FPS), round(t_end * FPS)
    for i, n in enumerate(range(n0, n1 + 1)):
        t = tq(n / FPS)
        ctx = FrameContext(
            t=t,
            frame_index=i,
            observations=tuple(by_t.get(t, ())),
            signals=signals(t) if signals else {},
            static_objects=static(t) if static else (),
        )
        events.extend(rule.update(ctx))
    events.extend(rule.finish(tq(t_end)))
    return events


def timeline(changes: list[tuple[float, str]], name: str) -> SignalFn:
    """A signal that shows ``changes[i][1]`` from ``changes[i][0]`` on."""

    def at(t: float) -> dict[str, SignalColor]:
        state = SignalColor.UNKNOWN
        for tc, s in changes:
            if t >= tc - 1e-9:
                state = SignalColor(s)
        return {name: state}

    return at
