"""Finding new, still objects (litter candidates) in no-litter zones with two backgrounds.

A *long-term* background remembers what the zone looks like empty; a *short-term* one follows
the last second or two. A pixel that differs from the long-term background but agrees with the
short-term one shows something that arrived and then stopped: a dropped bag, a bottle. Moving
people differ from both and are ignored; the empty pavement agrees with both.

What keeps this usable on real footage:

* The long-term background learns only where nothing new is (selective update), so a bottle
  stays "new" for as long as it lies there instead of fading into the background after a minute.
  Objects are absorbed deliberately after ``absorb_after_s`` (a moved bench is not litter forever).
* Pixels under person and vehicle boxes (slightly enlarged) are never reported and never learned:
  a person standing still is not litter and must not be burnt into the background either.
  Pixels that were covered when the model started have no known background; they are learned
  when first seen uncovered and stable, which avoids "ghost" objects where a person stood at the
  start.
* Lighting: each frame is gain-normalised to the long-term background (median brightness ratio
  over the zone), shadow-like changes (darker, same chromaticity) are ignored, blobs larger than
  ``max_area`` are dropped, and when most of the zone changes at once (clouds, street lights
  switching on) the background is forgotten and learnt again where the picture is still, instead
  of reporting the zone as an object (and instead of copying that frame, which may hold a vehicle).
* Blobs get stable ids across updates by IoU matching; an object hidden behind a person keeps
  its id while hidden, and one not seen for ``drop_after_s`` (uncovered) is dropped.
* A thing the person who dropped it hid is still once it has been seen unchanged for
  ``steady_s`` after the person moved on (the short-term background under the box is frozen at
  what lay there before and would take over a second to catch up).
* Hand-held cameras that pan: when the stabiliser re-anchors, ``reproject`` moves the backgrounds
  and the candidates with the picture instead of forgetting them. From then on registration errors
  and parallax (a rail post above the ground) move edges by a pixel or more, so a change must lie
  outside the background's range within ``align_px``, bands no thicker than ``thin_px`` are
  ignored, so is the strip along the picture's edge (``edge_share``), and a blob whose outline is
  the background's rather than the picture's (a ghost of someone who stood there) is learnt as
  ground. The litter rule then also asks for someone who could have left it (``view_moved``).

Everything is computed on the bounding rectangle of the no-litter zones, downscaled so that the
work image is at most ``work_width`` pixels wide; boxes and areas are reported in scene pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Sequence

import cv2
import numpy as np

from detector.geometry import box_iou
from detector.scene import NoLitterZone, Scene
from detector.types import Box, StaticObject, TrackObservation

PERSON_AND_VEHICLES = frozenset({"person", "bicycle", "car", "motorcycle", "bus", "truck", "train"})


@dataclass
class _Tracked:
    object_id: int
    box: Box  # scene px
    first_seen: float
    static_since: float
    last_seen: float
    zone: int
    label: str = "object"
    confidence: float = 0.5
    held_until: float = 0.0  # last time it was seen or known to be hidden behind someone


def _channel_max(img: np.ndarray) -> np.ndarray:
    """Largest of the three channel values per pixel (cv2 is much faster than ndarray.max(axis=2))."""
    b, g, r = cv2.split(img)
    return cv2.max(cv2.max(b, g), r)


def _covered(inner: Box, outer: Box) -> float:
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return (w * h) / area if w > 0 and h > 0 and area > 0 else 0.0


class StaticObjectFinder:
    """Long/short-term background model over the scene's no-litter zones.

    Parameters (times in video seconds, thresholds on 0..255 blurred colour values):
    ``long_tau_s`` how fast the long-term background follows slow drift where nothing is new;
    ``short_tau_s`` how fast the short-term one follows everything (an object counts as still
    once it has stood about two of these); ``diff_threshold`` colour change that counts as new;
    ``agree_threshold`` how close to the short-term background a still pixel must be;
    ``global_change_fraction`` share of the zone changing at once that means "lighting", not
    "object"; ``box_margin`` how much person/vehicle boxes are enlarged (feet, shadows at the
    edge, loose box fits).
    """

    def __init__(
        self,
        scene: Scene,
        *,
        work_width: int = 640,
        long_tau_s: float = 30.0,
        short_tau_s: float = 0.7,
        diff_threshold: float = 30.0,
        agree_threshold: float = 18.0,
        global_change_fraction: float = 0.35,
        drop_after_s: float = 1.5,
        absorb_after_s: float = 600.0,
        box_margin: float = 0.15,
        match_iou: float = 0.2,
        steady_s: float = 0.4,
        hidden_s: float = 2.0,
        align_px: int = 1,
        edge_share: float = 0.04,
        thin_px: float = 4.0,
        ghost_ratio: float = 0.8,
    ) -> None:
        self.zones: list[NoLitterZone] = [z for z in scene.zones if isinstance(z, NoLitterZone)]
        self.frame_size = tuple(scene.frame_size)
        self.long_tau_s, self.short_tau_s = long_tau_s, short_tau_s
        self.diff_threshold, self.agree_threshold = diff_threshold, agree_threshold
        self.global_change_fraction = global_change_fraction
        self.drop_after_s, self.absorb_after_s = drop_after_s, absorb_after_s
        self.box_margin, self.match_iou = box_margin, match_iou
        self.steady_s, self.hidden_s = steady_s, hidden_s
        self.thin_px, self.ghost_ratio = thin_px, ghost_ratio
        self._align_kernel = np.ones((2 * align_px + 1, 2 * align_px + 1), np.uint8) if align_px > 0 else None
        self._objects: dict[int, _Tracked] = {}
        self._panned = False  # the background has been carried across a pan (``reproject``)
        self._edge: np.ndarray | None = None
        self._ids = count(1)
        self._t_prev: float | None = None
        self._long: np.ndarray | None = None
        if not self.zones:
            return
        w, h = self.frame_size
        all_pts = np.concatenate([np.asarray(z.polygon, np.float64) for z in self.zones])
        x0 = int(max(0, np.floor(all_pts[:, 0].min())))
        y0 = int(max(0, np.floor(all_pts[:, 1].min())))
        x1 = int(min(w, np.ceil(all_pts[:, 0].max()) + 1))
        y1 = int(min(h, np.ceil(all_pts[:, 1].max()) + 1))
        self.crop = (x0, y0, x1, y1)  # scene px
        self.scale = min(1.0, work_width / max(1, x1 - x0))
        self.work_size = (max(1, round((x1 - x0) * self.scale)), max(1, round((y1 - y0) * self.scale)))
        ww, wh = self.work_size
        self.zone_index = np.zeros((wh, ww), np.uint8)  # 0 = outside every zone, else zone number
        for i, z in enumerate(self.zones, start=1):
            pts = ((np.asarray(z.polygon, np.float64) - (x0, y0)) * self.scale).round().astype(np.int32)
            cv2.fillPoly(self.zone_index, [pts], i)
        self.zone_mask = self.zone_index > 0
        # Once the camera has panned: the strip along the picture's edge (and along the border a
        # warped picture leaves), where a pan brings in what was not seen before and the edges of
        # things come and go with each re-anchor.
        m = max(1, round(edge_share * w))
        border = np.ones((h, w), np.uint8)
        border[m : h - m, m : w - m] = 0
        self._frame_edge = self._work_mask(border)
        r = max(1, round(edge_share * w * self.scale))
        self._edge_kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)

    # -- public --------------------------------------------------------------------------------
    def restart(self) -> None:
        """Forget the background: the view changed (the camera was moved and re-anchored), so
        every pixel would look "new" against the old one. Candidates found so far are dropped."""
        self._long = None
        self._objects.clear()

    def reproject(self, step: np.ndarray) -> None:
        """The camera panned and was re-anchored: ``step`` (3x3, the old view's scene px -> the new
        view's) moves the backgrounds, the onsets and the candidates with the picture instead of
        forgetting them. What the new view shows for the first time is unknown and learnt as at the
        start."""
        if self._long is None:
            return
        x0, y0 = self.crop[:2]
        s = self.scale
        to_work = np.array([[s, 0.0, -x0 * s], [0.0, s, -y0 * s], [0.0, 0.0, 1.0]])
        m = (to_work @ np.asarray(step, np.float64) @ np.linalg.inv(to_work))[:2]
        size = self.work_size

        def move(img: np.ndarray, nearest: bool = False, border: float = 0.0) -> np.ndarray:
            flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
            return cv2.warpAffine(img, m, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border)

        self._long, self._short, self._anchor = move(self._long), move(self._short), move(self._anchor)
        # A background pixel moved from the old view's edge is not trusted (interpolated with the border).
        known = move(self._known.astype(np.uint8) * 255, nearest=True)
        self._known = cv2.erode(known, np.ones((3, 3), np.uint8)) == 255
        self._onset = move(self._onset, nearest=True, border=float("nan"))
        self._steady = move(self._steady, nearest=True, border=float("nan"))
        self._steady[np.isnan(self._steady)] = self._t_prev if self._t_prev is not None else 0.0
        self._boxed_at = move(self._boxed_at, nearest=True, border=-np.inf)
        for obj in self._objects.values():
            bx1, by1, bx2, by2 = obj.box
            pts = np.array([[bx1, by1, 1.0], [bx2, by1, 1.0], [bx1, by2, 1.0], [bx2, by2, 1.0]]) @ np.asarray(step).T
            pts = pts[:, :2] / pts[:, 2:]
            obj.box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
        self._panned = True

    def update(self, t: float, frame_bgr: np.ndarray, observations: Sequence[TrackObservation],
               labelled: Sequence[TrackObservation] = (), unseen: np.ndarray | None = None) -> tuple[StaticObject, ...]:
        """Static objects after this frame.

        ``observations`` are the tracked people and vehicles (masked out, and they hide objects);
        ``labelled`` are the frame's detections of every other class (bottle, backpack...), which
        name a blob: the tracker keeps only classes the rules follow, so without them every blob
        would stay "object" and a zone's ``classes`` filter could never match. ``unseen`` (frame-
        sized, True where the frame shows nothing real: the border a stabilised, panned picture
        leaves) is treated like a covered area: not learnt, never a new object.
        """
        if not self.zones:
            return ()
        cur = self._prepare(frame_bgr)
        covered = self._box_mask(observations)
        boxed = covered.copy()
        unseen_w = self._work_mask(unseen) if unseen is not None else None
        if unseen_w is not None:
            covered |= unseen_w
        if self._long is None:
            self._start(t, cur, covered)
            return ()
        dt = max(1e-3, t - (self._t_prev if self._t_prev is not None else t))
        self._t_prev = t

        cur = self._normalise_gain(cur, covered)
        d_long = self._difference(cur)
        new = (d_long > self.diff_threshold) & ~self._shadow(cur)
        visible = self.zone_mask & ~covered & self._known
        if np.count_nonzero(new & visible) > self.global_change_fraction * max(1, np.count_nonzero(visible)):
            # Most of the zone changed at once: lighting, not litter (or something large that the
            # detector has not boxed yet, a van coming in at the edge). Forget the background
            # where it changed and learn it again there once the picture is still, instead of
            # taking this frame as it is: a frame that holds the van would leave its ghost in the
            # background once it drives on.
            self._relearn(t, new & visible)
            return self._report()

        d_short = _channel_max(cv2.absdiff(cur, self._short))
        # How long each uncovered pixel has kept its value (frozen under boxes, like the short one).
        d_anchor = _channel_max(cv2.absdiff(cur, self._anchor))
        moved = ~covered & (d_anchor >= self.agree_threshold)
        np.copyto(self._anchor, cur, where=moved[..., None])
        self._steady[moved] = t
        self._boxed_at[boxed] = t
        # Frozen under person/vehicle boxes: when a passer-by moves on, the short-term background
        # still shows what lies beneath, so a hidden object is "still" again at once.
        cv2.accumulateWeighted(cur, self._short, min(1.0, dt / self.short_tau_s), mask=(~covered).astype(np.uint8))

        self._onset[new & np.isnan(self._onset)] = t
        self._onset[~new] = np.nan

        # Learn where the background was never seen (covered at the start) once it is visible and still.
        learn_unknown = ~self._known & ~covered & (d_short < self.agree_threshold)
        if learn_unknown.any():
            np.copyto(self._long, cur, where=learn_unknown[..., None])
            self._known |= learn_unknown
        # Follow slow drift where nothing new is.
        quiet = (self._known & ~covered & ~new).astype(np.uint8)
        cv2.accumulateWeighted(cur, self._long, min(1.0, dt / self.long_tau_s), mask=quiet)

        # Still: agrees with the short-term background, or, just uncovered by a person or vehicle,
        # has kept its value for ``steady_s`` (what the one who dropped it hid is still as soon as
        # it has been seen unchanged for a few frames, not once the short-term background, frozen
        # at what lay there before, has caught up with it; away from people this is not used: the
        # inside of a plain moving thing keeps its value too).
        steady = ((t - self._steady) >= self.steady_s - 1e-6) & ((t - self._boxed_at) <= self.hidden_s)
        still_new = new & ((d_short < self.agree_threshold) | steady) & visible
        self._edge = None
        if self._panned:
            self._edge = self._frame_edge
            if unseen_w is not None and unseen_w.any():
                self._edge = self._edge | cv2.dilate(unseen_w.astype(np.uint8), self._edge_kernel).astype(bool)
        self._match(t, self._blobs(still_new, d_long, cur), observations, labelled)
        self._absorb(t, cur)
        return self._report()

    # -- image preparation ---------------------------------------------------------------------
    def _prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.crop
        h, w = frame_bgr.shape[:2]
        if (w, h) != self.frame_size:
            frame_bgr = cv2.resize(frame_bgr, self.frame_size, interpolation=cv2.INTER_AREA)
        patch = frame_bgr[y0:y1, x0:x1]
        if self.scale != 1.0:
            patch = cv2.resize(patch, self.work_size, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(patch, (5, 5), 0).astype(np.float32)

    def _start(self, t: float, cur: np.ndarray, covered: np.ndarray) -> None:
        self._long = cur.copy()
        self._short = cur.copy()
        self._known = ~covered
        self._onset = np.full(cur.shape[:2], np.nan, np.float32)
        self._anchor = cur.copy()
        self._steady = np.full(cur.shape[:2], t, np.float32)
        self._boxed_at = np.where(covered, t, -np.inf).astype(np.float32)
        self._panned = False
        self._t_prev = t

    def _relearn(self, t: float, changed: np.ndarray) -> None:
        """The background of the ``changed`` pixels is unknown again; ``update`` learns each once it
        is seen uncovered and still (``learn_unknown``) and reports nothing where it is unknown.
        Pixels that did not change keep their background, so litter next to the change is still
        seen as new."""
        self._known &= ~changed
        self._onset[changed] = np.nan
        self._t_prev = t

    def _work_mask(self, mask: np.ndarray) -> np.ndarray:
        """A frame-sized boolean mask cut and scaled like the working image."""
        x0, y0, x1, y1 = self.crop
        h, w = mask.shape[:2]
        m = mask.astype(np.uint8)
        if (w, h) != self.frame_size:
            m = cv2.resize(m, self.frame_size, interpolation=cv2.INTER_NEAREST)
        m = m[y0:y1, x0:x1]
        if self.scale != 1.0:
            m = cv2.resize(m, self.work_size, interpolation=cv2.INTER_NEAREST)
        return m.astype(bool)

    def _box_mask(self, observations: Sequence[TrackObservation]) -> np.ndarray:
        ww, wh = self.work_size
        mask = np.zeros((wh, ww), np.uint8)
        x0, y0 = self.crop[:2]
        for o in observations:
            if o.class_name not in PERSON_AND_VEHICLES:
                continue
            bx1, by1, bx2, by2 = o.box
            mx, my = self.box_margin * (bx2 - bx1), self.box_margin * (by2 - by1)
            p1 = (int((bx1 - mx - x0) * self.scale) - 1, int((by1 - my - y0) * self.scale) - 1)
            p2 = (int((bx2 + mx - x0) * self.scale) + 1, int((by2 + my - y0) * self.scale) + 1)
            cv2.rectangle(mask, p1, p2, 1, -1)
        return mask.astype(bool)

    def _normalise_gain(self, cur: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Scale the frame so its median brightness over the visible zone matches the background."""
        sel = (self.zone_mask & ~covered & self._known)[::4, ::4]
        if np.count_nonzero(sel) < 50:
            return cur
        bg, now = self._long[::4, ::4][sel], cur[::4, ::4][sel]
        gain = float(np.median(bg) / max(1.0, float(np.median(now))))
        gain = min(2.0, max(0.5, gain))
        return np.minimum(cur * np.float32(gain), np.float32(255.0)) if abs(gain - 1.0) > 0.02 else cur

    def _difference(self, cur: np.ndarray) -> np.ndarray:
        """Colour change against the long-term background. Once the background has been carried
        across a pan, only the change that no misalignment of ``align_px`` explains: per channel,
        how far the pixel lies outside the range the background takes that near it."""
        if not self._panned or self._align_kernel is None:
            return _channel_max(cv2.absdiff(cur, self._long))
        lo = cv2.erode(self._long, self._align_kernel)
        hi = cv2.dilate(self._long, self._align_kernel)
        return cv2.max(_channel_max(cv2.max(cv2.subtract(lo, cur), cv2.subtract(cur, hi))), 0.0)

    def _shadow(self, cur: np.ndarray) -> np.ndarray:
        """Darker than the background by a similar factor in every channel: a shadow, not a thing."""
        ratio = cv2.divide(cur + 1.0, self._long + 1.0)
        b, g, r = cv2.split(ratio)
        r_mean = (b + g + r) / 3.0
        spread = cv2.max(cv2.max(b, g), r) - cv2.min(cv2.min(b, g), r)
        return (r_mean > 0.35) & (r_mean < 0.9) & (spread < 0.12)

    # -- blobs and their identities ------------------------------------------------------------
    def _thin(self, region: np.ndarray) -> bool:
        """A band no thicker than ``thin_px`` work pixels: what a picture registered a pixel or two
        off leaves along every edge it crosses, once the background has been carried across pans."""
        padded = np.pad(region.astype(np.uint8), 1)
        inside = float(cv2.distanceTransform(padded, cv2.DIST_L2, 3).max())
        return 2.0 * inside <= self.thin_px

    def _ghost(self, cur: np.ndarray, x: int, y: int, w: int, h: int, region: np.ndarray) -> bool:
        """Whether the blob is a ghost: the long-term background holds something that has gone
        (a person standing where a pan first showed the ground), so the outline of the change is
        an edge of the background, not of the picture. A thing put down has its outline in the
        picture."""
        m = 2
        wh, ww = cur.shape[:2]
        xa, ya, xb, yb = max(0, x - m), max(0, y - m), min(ww, x + w + m), min(wh, y + h + m)
        reg = np.zeros((yb - ya, xb - xa), np.uint8)
        reg[y - ya : y - ya + h, x - xa : x - xa + w] = region
        k = np.ones((3, 3), np.uint8)
        band = (cv2.dilate(reg, k) > 0) & ~(cv2.erode(reg, k) > 0)

        def edges(img: np.ndarray) -> float:
            g = cv2.cvtColor(img[ya:yb, xa:xb], cv2.COLOR_BGR2GRAY)
            return float(cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))[band].mean())

        return bool(band.any()) and edges(cur) < self.ghost_ratio * edges(self._long)

    def _blobs(self, mask: np.ndarray, d_long: np.ndarray, cur: np.ndarray) -> list[tuple[Box, int, float, float]]:
        """Connected regions as (scene box, zone number, median onset time, mean contrast)."""
        m = mask.astype(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        out = []
        x0, y0 = self.crop[:2]
        s2 = self.scale * self.scale
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            region = labels[y : y + h, x : x + w] == i
            zones = self.zone_index[y : y + h, x : x + w][region]
            zone = int(np.bincount(zones).argmax())
            if zone == 0:
                continue
            z = self.zones[zone - 1]
            scene_area = area / s2
            if not (z.min_area <= scene_area <= z.max_area):
                continue
            if self._edge is not None and (region & self._edge[y : y + h, x : x + w]).any():
                continue  # cut by the edge of what the panning camera shows
            if self._panned and self._thin(region):
                continue  # a registration error along an edge
            if self._panned and self._ghost(cur, x, y, w, h, region):
                # what the background remembers has gone: learn the ground that it hid
                np.copyto(self._long[y : y + h, x : x + w], cur[y : y + h, x : x + w], where=region[..., None])
                continue
            onset = self._onset[y : y + h, x : x + w][region]
            onset = onset[~np.isnan(onset)]
            contrast = float(d_long[y : y + h, x : x + w][region].mean())
            box = (x0 + x / self.scale, y0 + y / self.scale, x0 + (x + w) / self.scale, y0 + (y + h) / self.scale)
            out.append((box, zone, float(np.median(onset)) if onset.size else float("nan"), contrast))
        return out

    def _match(self, t: float, blobs, observations: Sequence[TrackObservation],
               labelled: Sequence[TrackObservation] = ()) -> None:
        unmatched = set(self._objects)
        for box, zone, onset, contrast in blobs:
            best, best_iou = None, self.match_iou
            for oid in unmatched:
                iou = box_iou(box, self._objects[oid].box)
                if iou >= best_iou:
                    best, best_iou = oid, iou
            conf = round(min(0.95, max(0.3, contrast / 100.0)), 3)
            label = self._label(box, [*observations, *labelled])
            if best is None:
                first = onset if onset == onset and onset <= t else t
                oid = next(self._ids)
                self._objects[oid] = _Tracked(oid, box, min(first, t), t, t, zone, label, conf, t)
            else:
                unmatched.discard(best)
                obj = self._objects[best]
                obj.box, obj.last_seen, obj.held_until, obj.confidence = box, t, t, conf
                if label != "object":
                    obj.label = label
        hiders = [o.box for o in observations if o.class_name in PERSON_AND_VEHICLES]
        for oid in unmatched:
            obj = self._objects[oid]
            if any(_covered(obj.box, b) > 0.3 for b in hiders):
                obj.held_until = t
            elif t - obj.held_until > self.drop_after_s:
                del self._objects[oid]

    @staticmethod
    def _label(box: Box, observations: Sequence[TrackObservation]) -> str:
        """A detector class for the blob when a non-person, non-vehicle detection overlaps it."""
        best, best_iou = "object", 0.2
        for o in observations:
            if o.class_name in PERSON_AND_VEHICLES:
                continue
            iou = box_iou(box, o.box)
            if iou > best_iou:
                best, best_iou = o.class_name, iou
        return best

    def _absorb(self, t: float, cur: np.ndarray) -> None:
        """Objects that have stood for ``absorb_after_s`` become part of the background."""
        x0, y0 = self.crop[:2]
        for oid in [k for k, o in self._objects.items() if t - o.static_since > self.absorb_after_s]:
            bx1, by1, bx2, by2 = self._objects.pop(oid).box
            xa, ya = int((bx1 - x0) * self.scale), int((by1 - y0) * self.scale)
            xb, yb = int(np.ceil((bx2 - x0) * self.scale)), int(np.ceil((by2 - y0) * self.scale))
            self._long[ya:yb, xa:xb] = cur[ya:yb, xa:xb]

    def _report(self) -> tuple[StaticObject, ...]:
        return tuple(
            StaticObject(o.object_id, o.box, o.first_seen, o.static_since, o.last_seen, o.label, o.confidence,
                         view_moved=self._panned)
            for o in self._objects.values()
        )
