"""Objects left behind in a no-litter zone, and who left them.

The pixels are the background model's business (``detector.background``); it hands over
``StaticObject`` candidates: something new in the scene that has stopped changing. This rule
decides which of them are litter and names the person who most likely dropped it:

* the object's centre lies in the zone, its label is not a person or vehicle (a person standing
  still or a parked car is not litter; ``zone.classes``, when given, lists the labels that count);
* it has been static for at least ``min_static_s`` (``last_seen - static_since``), so things that
  are picked up again or were only a passing shadow raise nothing;
* it is not, at that moment, mostly covered by a person or vehicle box (a still person the
  background model failed to mask);
* on a hand-held camera that panned (``view_moved``: the background was carried across a
  re-anchor), a person or rider was within reach of it around ``first_seen``: there, a change
  nobody could have left is more likely the registration's error than litter.

The person link looks back in a short history of person tracks for the one whose box was
nearest the object around ``first_seen`` (the moment the object first differed from the
background, i.e. the drop). One case per object, emitted when it disappears or the video ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from detector.explain import class_zh
from detector.rules._common import PERSON_CLASSES, VEHICLE_CLASSES, ZoneShape, box_distance, box_overlap_fraction
from detector.scene import NoLitterZone
from detector.types import Box, FrameContext, StaticObject, TrackObservation, ViolationEvent

RULE = "litter"
# Who can leave a thing: people on foot and on two wheels (the person link names only people on foot).
LEAVER_CLASSES = PERSON_CLASSES | {"rider"}


@dataclass
class _Item:
    obj: StaticObject
    raised_t: float | None = None
    person: TrackObservation | None = None
    person_gap_px: float | None = None


class LitterRule:
    """One no-litter zone.

    ``link_before_s`` / ``link_after_s``: the time window around ``first_seen`` searched for the
    person (dropping happens just before the object shows up as new; the person may still be
    beside it right after).
    ``link_max_heights``: furthest gap between person box and object box that still counts as
    "left it", in heights of that person's box: what is within reach scales with the person, and
    a fixed pixel gap meant a stride on a 320x240 camera and a hand's breadth at 4K.
    """

    def __init__(
        self,
        zone: NoLitterZone,
        *,
        link_before_s: float = 5.0,
        link_after_s: float = 2.0,
        link_max_heights: float = 1.0,
        covered_fraction: float = 0.6,
    ) -> None:
        self.zone = zone
        self.shape = ZoneShape.of(zone.polygon)
        self.labels = frozenset(zone.classes) if zone.classes else None
        self.link_before_s = link_before_s
        self.link_after_s = link_after_s
        self.link_max_heights = link_max_heights
        self.covered_fraction = covered_fraction
        # Objects are reported only after they have been still for a while, so the history must
        # reach back past first_seen by at least min_static_s plus the link window.
        self.history_s = max(60.0, 3 * zone.min_static_s) + link_before_s
        self._people: deque[TrackObservation] = deque()
        self._items: dict[int, _Item] = {}

    def update(self, ctx: FrameContext) -> list[ViolationEvent]:
        for o in ctx.observations:
            if o.class_name in LEAVER_CLASSES:
                self._people.append(o)
        while self._people and ctx.t - self._people[0].t > self.history_s:
            self._people.popleft()

        blockers = [o.box for o in ctx.observations if o.class_name in PERSON_CLASSES | VEHICLE_CLASSES]
        present: set[int] = set()
        for obj in ctx.static_objects:
            if not self._counts(obj):
                continue
            present.add(obj.object_id)
            item = self._items.get(obj.object_id)
            if item is None:
                item = self._items[obj.object_id] = _Item(obj)
            item.obj = obj
            if item.raised_t is None and obj.last_seen - obj.static_since >= self.zone.min_static_s:
                if not any(box_overlap_fraction(obj.box, b) >= self.covered_fraction for b in blockers):
                    if obj.view_moved and self._who_left(obj, LEAVER_CLASSES)[0] is None:
                        continue  # on a panning camera, a change nobody could have left is not litter
                    item.raised_t = ctx.t
                    item.person, item.person_gap_px = self._who_left(obj)

        events = []
        for oid in [k for k in self._items if k not in present]:
            item = self._items.pop(oid)
            if item.raised_t is not None:
                events.append(self._event(item))
        return events

    def finish(self, t_end: float) -> list[ViolationEvent]:
        items, self._items = self._items, {}
        return [self._event(i) for i in items.values() if i.raised_t is not None]

    def _counts(self, obj: StaticObject) -> bool:
        if obj.label in PERSON_CLASSES or obj.label in VEHICLE_CLASSES:
            return False
        if self.labels is not None and obj.label not in self.labels:
            return False
        x1, y1, x2, y2 = obj.box
        return self.shape.contains(((x1 + x2) / 2, (y1 + y2) / 2))

    def _who_left(self, obj: StaticObject, classes: frozenset[str] = PERSON_CLASSES,
                  ) -> tuple[TrackObservation | None, float | None]:
        t0 = obj.first_seen
        best, best_score, best_gap = None, float("inf"), None
        for p in self._people:
            if p.class_name not in classes:
                continue
            if not (t0 - self.link_before_s <= p.t <= t0 + self.link_after_s):
                continue
            gap = box_distance(p.box, obj.box)
            if gap > self.link_max_heights * (p.box[3] - p.box[1]):
                continue
            # Nearness in space matters most; among equally near boxes prefer the moment of drop.
            score = gap + 10.0 * abs(p.t - t0)
            if score < best_score:
                best, best_score, best_gap = p, score, gap
        return best, best_gap

    def _person_path(self, tid: int, t0: float) -> list[tuple[float, float, float]]:
        pts = []
        for p in self._people:
            if p.track_id == tid and p.class_name in PERSON_CLASSES and t0 - self.link_before_s <= p.t <= t0 + self.link_after_s:
                x, y = p.ground
                pts.append((p.t, round(x, 1), round(y, 1)))
        return pts

    def _event(self, item: _Item) -> ViolationEvent:
        obj, person = item.obj, item.person
        stayed = obj.last_seen - obj.first_seen
        what = "an object" if obj.label == "object" else f"a {obj.label}"
        what_zh = "物品" if obj.label == "object" else f"物品（{class_zh(obj.label)}）"
        details = {
            "object_id": obj.object_id,
            "object_box": [round(v, 1) for v in obj.box],
            "first_seen": obj.first_seen,
            "static_since": obj.static_since,
            "last_seen": obj.last_seen,
            "label": obj.label,
        }
        if person is not None:
            details["person_track_id"] = person.track_id
            details["person_gap_px"] = round(item.person_gap_px or 0.0, 1)
            key_t, key_box = person.t, person.box
            start = min(obj.first_seen, person.t)
            explanation = (
                f"{what} was left in {self.zone.shown('en')} by person #{person.track_id} "
                f"at {obj.first_seen:.1f} s and stayed {stayed:.1f} s"
            )
            explanation_zh = (
                f"行人 #{person.track_id} 于 {obj.first_seen:.1f} 秒在 {self.zone.shown('zh-CN')} 遗留{what_zh}，"
                f"已停留 {stayed:.1f} 秒"
            )
            path = self._person_path(person.track_id, obj.first_seen)
            track_ids = [person.track_id]
        else:
            key_t, key_box = obj.static_since, obj.box
            start = obj.first_seen
            explanation = (
                f"{what} appeared in {self.zone.shown('en')} at {obj.first_seen:.1f} s and stayed "
                f"{stayed:.1f} s; nobody was seen leaving it"
            )
            explanation_zh = (
                f"{what_zh}于 {obj.first_seen:.1f} 秒出现在 {self.zone.shown('zh-CN')}，已停留 {stayed:.1f} 秒；"
                "未见遗留者"
            )
            x1, y1, x2, y2 = obj.box
            path = [(obj.first_seen, round((x1 + x2) / 2, 1), round(y2, 1))]
            track_ids = []
        return ViolationEvent(
            rule=RULE,
            zone=self.zone.name,
            start_s=start,
            end_s=obj.last_seen,
            key_t=key_t,
            object_class=obj.label,
            track_ids=track_ids,
            confidence=round(float(obj.confidence), 3),
            explanation=explanation,
            explanation_zh=explanation_zh,
            key_box=_box(key_box),
            path=path,
            details=details,
            decided_s=item.raised_t,
        )


def _box(b: Box) -> Box:
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
