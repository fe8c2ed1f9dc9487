"""Draw what the analysis saw onto a video frame: zones, tracks, the offender, signals, time.

All geometry arrives in scene pixels (``scene.frame_size``); the frame being drawn on may be any
size, so everything is scaled on the way in. Text is ASCII only because OpenCV's Hershey fonts have
no CJK glyphs: a zone named in Chinese is drawn with ``?`` for those characters, never as garbage.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import cv2
import numpy as np

from detector.evidence.tracklog import SignalLog, TrackLog
from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, Scene
from detector.types import SignalColor, ViolationEvent

# BGR
ZONE_COLORS = {
    CrosswalkZone: (0, 215, 255),  # yellow
    LaneZone: (255, 160, 0),  # blue
    NoParkingZone: (0, 128, 255),  # orange
    NoLitterZone: (80, 200, 80),  # green
}
SIGNAL_COLORS = {
    SignalColor.RED: (0, 0, 255),
    SignalColor.GREEN: (0, 200, 0),
    SignalColor.UNKNOWN: (150, 150, 150),
}
OFFENDER_COLOR = (255, 0, 255)  # magenta: used for nothing else
TRACK_PALETTE = [(255, 255, 0), (0, 255, 128), (255, 128, 128), (128, 200, 255), (200, 200, 200), (255, 200, 0)]


def _through(points, view: tuple[float, ...] | None) -> list[tuple[float, float]]:  # noqa: ANN001
    """Scene points through a row-major 3x3 homography (unchanged without one)."""
    if view is None:
        return [(float(x), float(y)) for x, y in points]
    h = view
    out = []
    for x, y in points:
        w = h[6] * x + h[7] * y + h[8]
        out.append(((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w))
    return out


def ascii_text(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def wall_clock(scene: Scene, t: float) -> datetime | None:
    """Scene ``start_time`` + video seconds, in the scene's time zone; None when unknown."""
    if scene.start_time is None:
        return None
    return (scene.start_time + timedelta(seconds=t)).astimezone(scene.tz)


def format_timestamp(scene: Scene, t: float) -> str:
    """``t=12.34s  2024-05-01 08:00:12 CST +08:00`` (wall clock only when the scene knows it)."""
    text = f"t={t:.2f}s"
    wc = wall_clock(scene, t)
    if wc is not None:
        off = wc.strftime("%z")
        off = f"{off[:3]}:{off[3:]}" if len(off) == 5 else off
        text += f"  {wc:%Y-%m-%d %H:%M:%S} {wc.tzname() or ''} {off}".rstrip()
    return ascii_text(text)


class Annotator:
    """A ``draw(frame_bgr, t)`` callable for one case: pass it to ``cut_clip``.

    ``event`` (optional) marks the offender: its ``track_ids`` are drawn thick in magenta with the
    path of ground points up to ``t``; without a matching track at ``t`` its ``key_box`` is drawn
    during the event span (e.g. a litter object, which is not a track).
    """

    def __init__(
        self,
        scene: Scene,
        *,
        track_log: TrackLog | None = None,
        signal_log: SignalLog | None = None,
        event: ViolationEvent | None = None,
        max_age: float | None = None,
    ) -> None:
        self.scene = scene
        self.track_log = track_log or TrackLog()
        self.signal_log = signal_log or SignalLog()
        self.event = event
        self.max_age = max_age
        self._layer_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._path = sorted(event.path) if event and event.path else None

    def __call__(self, frame_bgr: np.ndarray, t: float) -> np.ndarray:
        return self.draw(frame_bgr, t)

    # -- geometry ---------------------------------------------------------------------------
    def _scale(self, frame: np.ndarray) -> tuple[float, float]:
        sw, sh = self.scene.frame_size
        h, w = frame.shape[:2]
        return w / sw, h / sh

    @staticmethod
    def _pts(points, sx: float, sy: float) -> np.ndarray:
        return np.array([[round(x * sx), round(y * sy)] for x, y in points], dtype=np.int32)

    @staticmethod
    def _box(box, sx: float, sy: float) -> tuple[tuple[int, int], tuple[int, int]]:
        x1, y1, x2, y2 = box
        return (round(x1 * sx), round(y1 * sy)), (round(x2 * sx), round(y2 * sy))

    def _style(self, frame: np.ndarray) -> tuple[float, int]:
        h, w = frame.shape[:2]
        font = max(0.35, min(w, h) / 720 * 0.6)
        return font, 1 if font < 0.6 else 2

    def _label(self, img: np.ndarray, text: str, org: tuple[int, int], color, font: float, thick: int,
               text_color=(0, 0, 0), top: bool = False) -> int:
        """Text on a filled box whose bottom-left (top-left with ``top``) is ``org``, kept inside
        the frame; returns the box height."""
        text = ascii_text(text)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, thick)
        h, w = img.shape[:2]
        x = int(min(max(org[0], 0), max(w - tw - 4, 0)))
        y = org[1] + th + base + 2 if top else org[1]
        y = int(min(max(y, th + base + 2), h - 1))
        cv2.rectangle(img, (x, y - th - base - 2), (x + tw + 4, y), color, -1)
        cv2.putText(img, text, (x + 2, y - base), cv2.FONT_HERSHEY_SIMPLEX, font, text_color, thick, cv2.LINE_AA)
        return th + base + 4

    # -- layers -----------------------------------------------------------------------------
    def _zone_layer(self, frame: np.ndarray, view: tuple[float, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        key = frame.shape[:2]
        if view is not None or key not in self._layer_cache:
            sx, sy = self._scale(frame)
            layer = np.zeros_like(frame)
            for zone in self.scene.zones:
                pts = self._pts(_through(zone.polygon, view), sx, sy)
                cv2.fillPoly(layer, [pts], ZONE_COLORS.get(type(zone), (255, 255, 255)))
            made = (layer, layer.any(axis=2).astype(np.uint8))
            if view is not None:  # a moving picture: this frame's own
                return made
            self._layer_cache[key] = made
        return self._layer_cache[key]

    def _draw_zones(self, img: np.ndarray, sx: float, sy: float, font: float, thick: int,
                    view: tuple[float, ...] | None = None) -> None:
        """Zones as drawn on the reference; on drone footage (``view``: reference -> this
        picture) warped to where they lie in this frame."""
        layer, mask = self._zone_layer(img, view)
        # Tint the zones: one saturating blend of the whole frame, copied back under the zone mask
        # (boolean indexing with float maths cost ~20 ms a frame, more than encoding it).
        cv2.copyTo(cv2.addWeighted(img, 0.8, layer, 0.2, 0.0), mask, img)
        for zone in self.scene.zones:
            color = ZONE_COLORS.get(type(zone), (255, 255, 255))
            pts = self._pts(_through(zone.polygon, view), sx, sy)
            cv2.polylines(img, [pts], True, color, thick, cv2.LINE_AA)
            if isinstance(zone, LaneZone):
                (x1, y1), (x2, y2) = _through(zone.direction, view)
                cv2.arrowedLine(img, (round(x1 * sx), round(y1 * sy)), (round(x2 * sx), round(y2 * sy)),
                                color, thick + 1, cv2.LINE_AA, tipLength=0.25)
            top = pts[np.argmin(pts[:, 1])]
            self._label(img, f"{zone.name} ({zone.kind})", (int(top[0]), int(top[1]) - 2), color, font * 0.8, 1)

    def _offender_ids(self) -> set[int]:
        return set(self.event.track_ids) if self.event else set()

    def _draw_tracks(self, img, t, sx, sy, font, thick) -> bool:
        offenders = self._offender_ids()
        seen_offender = False
        for obs in self.track_log.at(t, self.max_age):
            is_off = obs.track_id in offenders
            seen_offender |= is_off
            color = OFFENDER_COLOR if is_off else TRACK_PALETTE[obs.track_id % len(TRACK_PALETTE)]
            p1, p2 = self._box(obs.box, sx, sy)
            cv2.rectangle(img, p1, p2, color, thick * 3 if is_off else thick, cv2.LINE_AA)
            text = f"{obs.class_name} #{obs.track_id}" + (" OFFENDER" if is_off else "")
            self._label(img, text, (p1[0], p1[1] - 2), color, font * 0.8, 1,
                        (255, 255, 255) if is_off else (0, 0, 0))
        return seen_offender

    def _path_points(self, t: float) -> list[tuple[float, float]]:
        if self._path is not None:
            return [(x, y) for pt, x, y in self._path if pt <= t + 1e-9]
        if not self.event:
            return []
        return [o.ground for o in self.track_log.track(self.event.track_ids, float("-inf"), t)]

    def _draw_offender(self, img, t, sx, sy, thick, seen: bool) -> None:
        ev = self.event
        if ev is None:
            return
        path = self._path_points(t)
        if len(path) >= 2:
            cv2.polylines(img, [self._pts(path, sx, sy)], False, OFFENDER_COLOR, thick + 1, cv2.LINE_AA)
        if path:
            x, y = path[-1]
            cv2.circle(img, (round(x * sx), round(y * sy)), 3 * thick + 1, OFFENDER_COLOR, -1, cv2.LINE_AA)
        if not seen and ev.key_box is not None and ev.start_s - 1e-9 <= t <= ev.end_s + 1e-9:
            p1, p2 = self._box(ev.key_box, sx, sy)
            cv2.rectangle(img, p1, p2, OFFENDER_COLOR, thick * 2, cv2.LINE_AA)

    def _draw_header(self, img, t, font, thick) -> None:
        y = 0
        if self.event is not None:
            y += self._label(img, f"{self.event.rule} @ {self.event.zone}", (0, y), OFFENDER_COLOR, font, thick,
                             (255, 255, 255), top=True)
        states = self.signal_log.at(t)
        for sig in self.scene.signals:
            state = states.get(sig.name, SignalColor.UNKNOWN)
            y += self._label(img, f"{sig.name}: {state.value.upper()}", (0, y), SIGNAL_COLORS[state], font, thick,
                             (255, 255, 255) if state != SignalColor.UNKNOWN else (0, 0, 0), top=True)
        h = img.shape[0]
        self._label(img, format_timestamp(self.scene, t), (0, h - 1), (0, 0, 0), font, thick, (255, 255, 255))

    def _draw_signal_rois(self, img, t, sx, sy, thick) -> None:
        states = self.signal_log.at(t)
        for sig in self.scene.signals:
            if sig.roi is None:
                continue
            x, y, w, h = sig.roi
            color = SIGNAL_COLORS[states.get(sig.name, SignalColor.UNKNOWN)]
            p1, p2 = self._box((x, y, x + w, y + h), sx, sy)
            cv2.rectangle(img, p1, p2, color, thick)

    def draw(self, frame_bgr: np.ndarray, t: float) -> np.ndarray:
        """Annotate ``frame_bgr`` (modified in place and returned) as of video time ``t``."""
        img = np.ascontiguousarray(frame_bgr)
        sx, sy = self._scale(img)
        font, thick = self._style(img)
        self._draw_zones(img, sx, sy, font, thick, self.track_log.view_at(t, self.max_age))
        self._draw_signal_rois(img, t, sx, sy, thick)
        seen = self._draw_tracks(img, t, sx, sy, font, thick)
        self._draw_offender(img, t, sx, sy, thick, seen)
        self._draw_left_object(img, t, sx, sy, font, thick)
        self._draw_header(img, t, font, thick)
        return img

    def _draw_left_object(self, img, t, sx, sy, font, thick) -> None:
        """For litter, the object itself: it is the evidence, not only the person who left it."""
        ev = self.event
        box = (ev.details or {}).get("object_box") if ev is not None and ev.rule == "litter" else None
        if box is None or t < float(ev.details.get("first_seen", ev.start_s)) - 1e-6:
            return
        p1, p2 = self._box(box, sx, sy)
        pad = max(3, thick * 2)
        p1, p2 = (p1[0] - pad, p1[1] - pad), (p2[0] + pad, p2[1] + pad)
        cv2.rectangle(img, p1, p2, OFFENDER_COLOR, thick * 2, cv2.LINE_AA)
        self._label(img, "LEFT OBJECT", (p1[0], p1[1] - 2), OFFENDER_COLOR, font * 0.8, 1, (255, 255, 255))

