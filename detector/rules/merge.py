"""One offence, one case: overlapping or repeated events of one object in one zone become one.

Rules raise one event per track and zone stay, but the world is messier than that: a parked car
whose stay was split by a camera drift, a rider whose id changed twice, litter re-found after a
person stood on it. Two events of the same rule and zone that share a track id (or, for
track-less litter, the same object place; a rider and the vehicle they ride count as one) and
whose spans overlap or nearly touch are merged:
the earliest start, the latest end, every track id, the first event's key moment (the offence
began there) and both paths.
"""

from __future__ import annotations

import math

from detector.rules._common import heading_point
from detector.types import ViolationEvent

# Events closer than this (seconds between one's end and the next's start) count as one.
MERGE_GAP_S = 2.0
# Stationary offences (a parked car, left litter) survive longer gaps: a truck passing in front of
# a parked car hides it and the tracker gives it a new id; the stop goes on.
STATIONARY_RULES = {"illegal_parking": 8.0, "litter": 8.0}
# Moving offences whose object may come back under a new id after the tracker lost it: the later
# case continues the earlier one when it starts where the earlier one's motion led.
MOVING_RULES = frozenset({"wrong_way"})
# How near (in box heights of the object) to where it was heading a new id must start.
CONTINUE_HEIGHTS = 1.0
# The earlier case's motion is read over its last this many seconds.
HEADING_S = 1.0
# Who may continue whose case: a rider is one object whether seen as a person, a rider or on the
# two-wheeler under them; a car never continues a rider's case, nor the reverse.
_FAMILY = {"person": "two-wheeler", "rider": "two-wheeler", "bicycle": "two-wheeler", "motorcycle": "two-wheeler",
           "car": "vehicle", "truck": "vehicle", "bus": "vehicle"}


def _same_object(a: ViolationEvent, b: ViolationEvent, links: dict[int, int]) -> bool:
    ids_a = {links.get(i, i) for i in a.track_ids}
    ids_b = {links.get(i, i) for i in b.track_ids}
    if ids_a & ids_b:
        return True
    first = a if a.start_s <= b.start_s else b
    same_place_rule = (not a.track_ids and not b.track_ids) or (
        a.rule == "illegal_parking" and first.details.get("vanished_at_spot", False))
    if same_place_rule and a.key_box is not None and b.key_box is not None:
        ax1, ay1, ax2, ay2 = a.key_box
        bx1, by1, bx2, by2 = b.key_box
        w = min(ax2, bx2) - max(ax1, bx1)
        h = min(ay2, by2) - max(ay1, by1)
        if w > 0 and h > 0:
            smaller = min((ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1))
            return smaller > 0 and w * h / smaller >= 0.5
    return False


def _continues_motion(a: ViolationEvent, b: ViolationEvent, gap_s: float) -> bool:
    """The later of two moving-offence cases is the earlier one's object under a new id.

    Seen on the motorway: a far cyclist riding against the traffic went undetected for 1.6 s and
    came back under a new id further up the hard shoulder; the rule, which hands a stay over only
    within 1 s, raised a second case for him. Here the later case must begin after the earlier one
    ended (within ``gap_s``), be of the same kind of object, and start within ``CONTINUE_HEIGHTS``
    box heights of where the earlier case's last ``HEADING_S`` of motion leads by then: box
    heights, not pixels, so the test holds near the camera and far from it.
    """
    first, second = (a, b) if a.start_s <= b.start_s else (b, a)
    if first.rule not in MOVING_RULES or not first.path or not second.path:
        return False
    if _FAMILY.get(first.object_class, first.object_class) != _FAMILY.get(second.object_class, second.object_class):
        return False
    t_last = first.path[-1][0]
    t_new, x_new, y_new = second.path[0]
    if not 0.0 < t_new - t_last <= gap_s or first.key_box is None or second.key_box is None:
        return False
    recent = [p for p in first.path if p[0] >= t_last - HEADING_S]
    if t_last - recent[0][0] <= 0.0:
        return False
    px, py = heading_point(recent[0], first.path[-1], t_new)
    height = min(first.key_box[3] - first.key_box[1], second.key_box[3] - second.key_box[1])
    return height > 0 and math.hypot(x_new - px, y_new - py) <= CONTINUE_HEIGHTS * height


def _merge_two(a: ViolationEvent, b: ViolationEvent) -> ViolationEvent:
    first, second = (a, b) if a.start_s <= b.start_s else (b, a)
    ids = list(dict.fromkeys([*first.track_ids, *second.track_ids]))
    path = sorted({tuple(p) for p in [*first.path, *second.path]})
    merged = {**first.details, **({"vanished_at_spot": second.details["vanished_at_spot"]}
                                  if "vanished_at_spot" in second.details else {})}
    merged["merged_events"] = int(first.details.get("merged_events", 1)) + int(second.details.get("merged_events", 1))
    return ViolationEvent(
        rule=first.rule,
        zone=first.zone,
        start_s=first.start_s,
        end_s=max(first.end_s, second.end_s),
        key_t=first.key_t,
        object_class=first.object_class,
        track_ids=ids,
        confidence=max(first.confidence, second.confidence),
        explanation=first.explanation,
        key_box=first.key_box,
        path=[tuple(p) for p in path],
        signal=first.signal,
        details=merged,
        explanation_zh=first.explanation_zh,
        decided_s=min(first.decided, second.decided),
    )


def merge_events(events: list[ViolationEvent], gap_s: float = MERGE_GAP_S,
                 links: dict[int, int] | None = None) -> list[ViolationEvent]:
    """``events`` with every chain of same-object, overlapping events merged, in start order.

    ``links`` maps a track id to the object it is part of (a rider to the vehicle it rides), so
    a rider judged before the vehicle under them was recognised and the vehicle itself give one case.
    """
    links = links or {}
    pending = sorted(events, key=lambda e: (e.start_s, e.rule, e.zone))
    out: list[ViolationEvent] = []
    for ev in pending:
        # a merged event may now be the same object as another kept one (a later event sharing one
        # id with each of two kept ones): merge again until none is left, so the chain is one case
        while (i := _first_match(out, ev, gap_s, links)) is not None:
            ev = _merge_two(out.pop(i), ev)
        out.append(ev)
    return sorted(out, key=lambda e: (e.start_s, e.rule, e.zone))


def _first_match(kept_events: list[ViolationEvent], ev: ViolationEvent, gap_s: float,
                 links: dict[int, int]) -> int | None:
    """The index of the first kept event that ``ev`` continues (same rule, zone and object, spans
    within the rule's gap), or None."""
    gap = max(gap_s, STATIONARY_RULES.get(ev.rule, 0.0))
    for i, kept in enumerate(kept_events):
        if (kept.rule == ev.rule and kept.zone == ev.zone
                and (_same_object(kept, ev, links) or _continues_motion(kept, ev, gap))
                and ev.start_s <= kept.end_s + gap and kept.start_s <= ev.end_s + gap):
            return i
    return None
