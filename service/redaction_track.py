"""Which boxes to blur on every frame of a published clip, from detections made every few frames.

Finding faces and people costs ~0.25 s a frame on two cores, so the finders run every
``DETECT_INTERVAL_S`` of video, not on every frame. Reusing one detection until the next (what the
first version did, every 0.3 s) left walkers sharp for a few frames as they moved out of their old
box. Here each frame is covered by

- the regions of the nearest detections on both sides (up to ``CARRY`` each way): a box seen
  before and after a frame covers where the object was in between as long as it moved less than
  its own width, and a detector that misses someone on one detection (flicker) is covered by its
  neighbours;
- for regions matched between the detection before and after the frame (same kind, overlapping
  after allowing for motion), the box interpolated to the frame's time: fast movers too;
- a margin that grows with the distance to the detections used.

A frame that cannot be covered is dropped from the public clip (the previous frame stays on
screen a moment longer): when no detection succeeded within ``MAX_GAP_S`` on a side that has
detections at all (a finder failed, or the clip is sparser than planned), or when a bystander
stands over the offender's head, so that blurring them would hide his face.

The offender is judged at each region's own detection time, so a passer-by who walks through
the place the offender stood a moment ago is not mistaken for him.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable, Sequence

from detector.riders import TWO_WHEELERS, rides_on
from service.redaction import (
    PEOPLE_CARRIERS, VEHICLE_CLASSES, Box, Region, _area, _identifying_part, _intersection, centre_in,
)

DETECT_INTERVAL_S = 0.1
MAX_GAP_S = 0.35
CARRY = 3
BASE_MARGIN = 0.2
MIN_PAD_PX = 6.0
# the margin grows by this share of the box per second between the frame and the detection used
MARGIN_PER_S = 1.0
# a person or vehicle box is the offender's when its IoU with the offender's box reaches this
OFFENDER_IOU = 0.45
# ... or when it lies this much inside the offender's box and is smaller (a part of him)
INSIDE_SHARE = 0.8
# a bystander covering this share of the offender's head cannot be blurred without hiding his face
HIDES_OFFENDER = 0.5
# Offenders a vehicle or a plate can be part of: a vehicle, or a rider on his two-wheeler. A
# walker's box holds no vehicle of his: a far car seen beside him, boxed inside his box, and its
# plate were taken for parts of him and published sharp.
VEHICLE_OFFENDERS = frozenset(VEHICLE_CLASSES | {"rider"})


def can_be(offender_class: str | None, region_kind: str) -> bool:
    """Whether a region of ``region_kind`` can be (a part of) an offender of ``offender_class``
    (the case's ``object_class``; a case that names none is judged by its box alone, as before).
    No person is part of a car, bus or truck (``redaction.PEOPLE_CARRIERS``): taken for "a part of
    him" or for his face, a walker passing behind a parked car was published sharp, face and all."""
    if not offender_class:
        return True
    if region_kind in ("face", "person"):
        return offender_class not in PEOPLE_CARRIERS
    if region_kind in ("vehicle", "plate"):
        return offender_class in VEHICLE_OFFENDERS
    return True


@dataclass(frozen=True)
class Detection:
    t: float
    regions: tuple[Region, ...] | None  # None: the finders failed on this frame


@dataclass(frozen=True)
class Cover:
    """What one frame needs: boxes to blur (frame px, margin applied), or ``drop`` with why."""

    boxes: tuple[Box, ...]
    drop: str | None = None
    # the offender's own faces (nearest detection): put back where a bystander's blur went over
    # them, as on the evidence sheet; a bystander over most of his face drops the frame instead
    keep: tuple[Box, ...] = ()
    # Under ``bystanders``, the offender's box at this frame and what identifies each blurred
    # bystander (a person whole, a vehicle's plate band, a face, a plate; margin applied): a
    # neighbour's grown blur box must not hide the offender the red outline points at, so his box
    # is put back and only these parts are blurred again inside it.
    offender: Box | None = None
    private: tuple[Box, ...] = ()
    # faces of bystanders that overlap the offender's kept face, blurred again after ``keep`` is
    # put back: where one overlaps his face, a stranger's face shown sharp on a public screen is worse
    # than part of his blurred
    reblur: tuple[Box, ...] = ()


OffenderAt = Callable[[float], "Box | None"]


def iou(a: Box, b: Box) -> float:
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _grow(box: Box, margin: float) -> Box:
    """Grown by ``margin`` of its size, and by at least MIN_PAD_PX: a far walker's box is a few
    pixels wide and the detector's box wobbles by that much."""
    x1, y1, x2, y2 = box
    mx, my = max((x2 - x1) * margin, MIN_PAD_PX), max((y2 - y1) * margin, MIN_PAD_PX)
    return (x1 - mx, y1 - my, x2 + mx, y2 + my)


def is_offender(region: Region, offender: Box | None, offender_class: str | None = None) -> bool:
    """Stricter than ``redaction.belongs_to_offender``: a whole box must match the offender's
    (IoU), a face must sit in his head, so someone overlapping him is still blurred; and nothing
    of a kind he cannot be made of (``can_be``: no person in a car's box, no car in a walker's)."""
    if offender is None or not can_be(offender_class, region.kind):
        return False
    if region.kind in ("face", "plate"):
        return centre_in(region.box, _face_zone(offender) if region.kind == "face" else offender)
    if iou(region.box, offender) >= OFFENDER_IOU:
        return True
    # a part of him found as a box of its own (upper body, at low confidence): inside his box and
    # smaller. Someone hidden behind him is mostly hidden; a face of theirs that shows is found by
    # the face finder and blurred unless it is in his head.
    inside = _intersection(region.box, offender)
    return inside >= INSIDE_SHARE * max(_area(region.box), 1.0) and _area(region.box) <= _area(offender)


def is_his(region: Region, offender: Box | None, offender_class: str | None, his_faces: Sequence[Region]) -> bool:
    """Whether ``region`` is the offender's: a part of him (``is_offender``), and for a face, the
    one face of his (``his_faces``, from ``own_faces``) rather than another in his head area."""
    return is_offender(region, offender, offender_class) and (region.kind != "face" or any(region is f for f in his_faces))


def covered(box: Box, blurred: Sequence[Box], share: float = 0.8) -> bool:
    """Whether ``share`` of ``box`` lies inside one of the blurred boxes."""
    need = share * max(_area(box), 1.0)
    return any(_intersection(box, b) >= need for b in blurred)


def _face_zone(box: Box) -> Box:
    """Where a walker's face is in his whole-body box: the top quarter (half for a box that is not
    tall), the middle 60 % (a face at
    the edge of his box is more often the head of someone just behind him)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    depth = 0.25 if h >= 2 * w else 0.5  # a standing walker; else a rider, a seated or cut-off person
    return (x1 + 0.2 * w, y1, x2 - 0.2 * w, y1 + h * depth)


def own_faces(regions: Sequence[Region] | None, offender: Box | None,
              offender_class: str | None = None) -> tuple[Region, ...]:
    """The offender's face among ``regions``, as each finder found it. Of the faces in his head
    area (``is_offender``), one in the head area of another person found beside him (a box that is
    not his) is that person's; of the rest his is the one nearest where his head is (the top
    centre of his box), with the other finders' boxes of that same face (one centre inside the
    other's box). Any other face there is someone just behind or beside him: it was kept sharp
    with his, as "his face"; and by nearness alone, a walker seen side on (his face at his box's
    edge) had his face blurred and the face of the man behind him, nearer the centre, published.
    When every face there is someone else's, none is his and all are blurred."""
    if offender is None:
        return ()
    faces = [r for r in regions or () if r.kind == "face" and is_offender(r, offender, offender_class)]
    others = [_face_zone(r.box) for r in regions or ()
              if r.kind == "person" and not is_offender(r, offender, offender_class)]
    faces = [f for f in faces if not any(centre_in(f.box, zone) for zone in others)]
    if not faces:
        return ()
    x1, y1, x2, y2 = offender
    head_x, head_y = (x1 + x2) / 2, y1 + 0.1 * (y2 - y1)

    def distance(r: Region) -> float:
        fx1, fy1, fx2, fy2 = r.box
        return ((fx1 + fx2) / 2 - head_x) ** 2 + ((fy1 + fy2) / 2 - head_y) ** 2

    his = min(faces, key=distance)
    return tuple(r for r in faces if r is his or centre_in(r.box, his.box) or centre_in(his.box, r.box))


def _match(a: Sequence[Region], b: Sequence[Region]) -> list[tuple[Region, Region]]:
    """Greedy pairs of the same kind by IoU of the boxes grown by their size (motion allowed)."""
    pairs = sorted(((iou(_grow(ra.box, 0.5), _grow(rb.box, 0.5)), i, j) for i, ra in enumerate(a)
                    for j, rb in enumerate(b) if ra.kind == rb.kind), reverse=True)
    used_a, used_b, out = set(), set(), []
    for score, i, j in pairs:
        if score < 0.2:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((a[i], b[j]))
    return out


def _private_part(region: Region) -> Box:
    """What of a bystander stays blurred even inside the offender's box: a person whole, a
    vehicle's plate band, a face or a plate (a car's roof next to the offender identifies no one)."""
    return region.box if region.kind == "person" else _identifying_part(region)


def with_riders(offender: Box | None, regions: Sequence[Region] | None, offender_class: str | None) -> Box | None:
    """The offender's box grown to the people riding it when he is a bicycle or motorbike
    (``detector.riders.rides_on``, the pipeline's own test). A two-wheeler's case carries the
    machine's box, and its rider, a person box over its top, was judged a bystander standing over
    the offender's head: on a real wrong-way drill half the frames of each case were left out of
    the public clip and the rest showed the rider blurred. Riding, he is the offender (his face is
    still only the one ``own_faces`` picks, so a pillion passenger's is blurred)."""
    if offender is None or offender_class not in TWO_WHEELERS:
        return offender
    riders = [r.box for r in regions or () if r.kind == "person" and rides_on(r.box, offender)]
    if not riders:
        return offender
    return (min(offender[0], *(b[0] for b in riders)), min(offender[1], *(b[1] for b in riders)),
            max(offender[2], *(b[2] for b in riders)), max(offender[3], *(b[3] for b in riders)))


def _moved(box: Box, then: Box | None, now: Box | None) -> Box:
    """``box`` shifted and scaled as the offender's box moved from ``then`` to ``now``."""
    if then is None or now is None:
        return box
    sx = (now[2] - now[0]) / max(then[2] - then[0], 1e-6)
    sy = (now[3] - now[1]) / max(then[3] - then[1], 1e-6)
    return (now[0] + (box[0] - then[0]) * sx, now[1] + (box[1] - then[1]) * sy,
            now[0] + (box[2] - then[0]) * sx, now[1] + (box[3] - then[1]) * sy)


class Timeline:
    """The detections of one clip, in time order, and the cover of any frame between them."""

    def __init__(self, detections: Sequence[Detection]):
        self.dets = sorted(detections, key=lambda d: d.t)
        self.times = [d.t for d in self.dets]

    def cover(self, t: float, offender_at: OffenderAt, policy: str, offender_class: str | None = None) -> Cover:
        """``offender_class``: the case's ``object_class``, what the offender can be made of (``can_be``)."""
        lo = bisect.bisect_right(self.times, t)  # dets[:lo] are at or before t
        before = [d for d in reversed(self.dets[:lo])]
        after = self.dets[lo:]
        ok_before = [d for d in before if d.regions is not None]
        ok_after = [d for d in after if d.regions is not None]
        for side, ok in ((before, ok_before), (after, ok_after)):
            if side and (not ok or abs(ok[0].t - t) > MAX_GAP_S):
                return Cover((), drop=f"no detection within {MAX_GAP_S} s")
        used = [d for d in ok_before[:CARRY] + ok_after[:CARRY] if abs(d.t - t) <= MAX_GAP_S]
        if not used:
            return Cover((), drop="no detection")
        nearest = min(used, key=lambda d: abs(d.t - t))
        # a two-wheeler with its rider: as at the nearest detection, moved as the machine moved since
        machine_then = offender_at(nearest.t)
        offender_then = with_riders(machine_then, nearest.regions, offender_class)
        here = offender_at(t)
        if here is not None and offender_then is not None and offender_then != machine_then:
            here = _moved(offender_then, machine_then, here)
        boxes: list[Box] = []
        # his face, moved as he moved since the nearest detection: put back where it was there, a
        # fast rider's face box uncovered the bystander he had passed
        keep = tuple(_grow(_moved(r.box, offender_then, here), BASE_MARGIN)
                     for r in own_faces(nearest.regions, offender_then, offender_class) if policy == "bystanders")
        private: list[Box] = []
        reblur: list[Box] = []
        judged_at: dict[int, tuple[Box | None, tuple[Region, ...]]] = {}  # id(det) -> his box and face there
        for det in used:
            margin = BASE_MARGIN + MARGIN_PER_S * abs(det.t - t)
            off = with_riders(offender_at(det.t), det.regions, offender_class)
            his_faces = own_faces(det.regions, off, offender_class)
            judged_at[id(det)] = (off, his_faces)
            for region in det.regions or ():
                box = self._judge(region, off, here, policy, offender_class, his_faces)
                if box is None:
                    continue
                if box == "drop":
                    return Cover((), drop="a bystander stands over the offender")
                boxes.append(_grow(box, margin))
                private.append(_grow(_private_part(region), margin))
                if region.kind == "face" and det is nearest:  # judged nearest this frame's time
                    reblur.append(_grow(region.box, margin))
        if ok_before and ok_after and ok_before[0].t < t < ok_after[0].t:
            a, b = ok_before[0], ok_after[0]
            w = (t - a.t) / (b.t - a.t)
            (off_a, faces_a), (off_b, faces_b) = judged_at[id(a)], judged_at[id(b)]  # both are in ``used``
            pairs = [(Region(tuple(x + (y - x) * w for x, y in zip(ra.box, rb.box)), ra.kind),  # type: ignore[arg-type]
                      is_his(ra, off_a, offender_class, faces_a) or is_his(rb, off_b, offender_class, faces_b))
                     for ra, rb in _match(a.regions or (), b.regions or ())]
            # judged where he is now, as the boxes are; but one that was someone else at both
            # detections is someone else between them, even where his box and the offender's are
            # one (a jogger passing in front of him was "the offender", kept sharp, face and all)
            his_now = own_faces([r for r, his in pairs if his], here, offender_class)
            for region, was_his in pairs:
                judged = self._judge(region, here if was_his else None, here, policy, offender_class, his_now)
                if judged == "drop":  # someone passing in front of his head between the detections
                    return Cover((), drop="a bystander stands over the offender")
                if judged is not None:
                    boxes.append(_grow(judged, BASE_MARGIN))  # type: ignore[arg-type]
                    private.append(_grow(_private_part(region), BASE_MARGIN))
                    if region.kind == "face":
                        reblur.append(_grow(region.box, BASE_MARGIN))
        # a bystander's face that his (put back after every blur) overlaps: blurred again over it,
        # whether its centre lies in his head area or just beside it. Only as judged nearest this
        # frame (the nearest detection, the interpolated boxes): a detection further off may judge
        # his own face, at his box's edge there, a stranger's
        reblur_boxes = tuple(r for r in reblur if any(_intersection(r, k) > 0 for k in keep))
        if policy != "bystanders" or here is None:
            return Cover(tuple(boxes), keep=keep, reblur=reblur_boxes)
        return Cover(tuple(boxes), keep=keep, offender=here,
                     private=tuple(p for p in private if _intersection(p, here) > 0), reblur=reblur_boxes)

    @staticmethod
    def _judge(region: Region, offender_then: Box | None, offender_now: Box | None, policy: str,
               offender_class: str | None = None, his_faces: Sequence[Region] = ()):
        """The box to blur for ``region`` (None: keep it; "drop": it cannot be covered).
        ``his_faces``: the offender's face at this detection (``own_faces``); any other face in his
        head area is a bystander's."""
        if is_his(region, offender_then, offender_class, his_faces):
            return _identifying_part(region) if policy == "all" else None
        if region.kind == "person" and offender_now is not None and policy == "bystanders":
            head = _face_zone(offender_now)
            if _intersection(region.box, head) >= HIDES_OFFENDER * max(_area(head), 1.0):
                return "drop"
        return region.box
