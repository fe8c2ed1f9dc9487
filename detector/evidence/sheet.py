"""The evidence sheet: stills before, at and after the offence and a close-up, each with a caption.

A traffic-police record (GA/T 832 and the local off-site enforcement rules) shows the offence as
a sequence of pictures, each stamped with time, place, device, offence and code, direction and
signal state, so that one printed page proves the case without the video. This module decides
which moments to show per rule (``sheet_moments``, pure), what the captions say
(``sheet_caption``), picks the frames while the case's clip is decoded (``StillPicker``) and
lays the page out (``compose_sheet``, drawn by ``sheet_layout``). It has no web code and
writes no files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from detector.evidence.annotate import ZONE_COLORS, wall_clock
from detector.evidence.offences import offence_for
from detector.evidence.sheet_layout import (
    ComposedSheet, MomentFacts, SheetCaption, SheetMoment, ZoneOverlay, compose_sheet, layout_sheet,
)
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.explain import class_zh, ids_text
from detector.scene import LaneZone, Scene
from detector.types import Box, SignalColor, ViolationEvent

__all__ = [
    "ComposedSheet", "MomentFacts", "SheetCaption", "SheetMoment", "StillPicker", "ZoneOverlay", "compose_sheet",
    "layout_sheet", "offender_box_at", "render_sheet", "sheet_caption", "sheet_jpeg", "sheet_moments", "zone_overlay",
]

log = logging.getLogger(__name__)

MIN_GAP_S = 0.2  # stills closer than this show the same picture
KERB_LEAD_S = 1.0  # red light: how long before stepping in the "on the kerb" still is taken
LITTER_LEAD_S = 1.0  # litter: the spot before the object was there


# -- which moments ----------------------------------------------------------------------------

def _labels(event: ViolationEvent) -> tuple[list[float], list[tuple[str, str]], float]:
    """Wanted times, their (zh, en) descriptions and the least span from first to last still."""
    d = event.details or {}
    s, k, e = event.start_s, event.key_t, event.end_s
    if event.rule == "red_light_pedestrian":
        entry = float(d.get("entry_t", s))
        commit = float(d.get("confirmed_t", k))
        exit_t = float(d.get("exit_t", e))
        return ([entry - KERB_LEAD_S, entry, max(commit, (entry + exit_t) / 2)],
                [("路边，尚未进入人行横道", "on the kerb, not yet on the crossing"),
                 ("红灯时进入人行横道", "stepping onto the crossing on red"),
                 ("在人行横道上通行", "on the crossing")], 0.0)
    if event.rule == "wrong_way":
        return ([s, k, e],
                [("逆向驶来", "approaching against the lane direction"),
                 ("确认逆向行驶", "going the wrong way (confirmed)"),
                 ("继续逆向行驶", "still going the wrong way")], 0.0)
    if event.rule == "illegal_parking":
        limit = float(d.get("max_stop_s", 0.0))
        return ([s, k, e],
                [("开始停车", "stopped in the no-parking zone"),
                 (f"停车已 {k - s:.0f} 秒，超过 {limit:g} 秒限值", f"stopped {k - s:.0f} s, over the {limit:g} s limit"),
                 (f"停车 {e - s:.0f} 秒后仍在原处", f"still there after {e - s:.0f} s")], limit)
    if event.rule == "litter":
        first = float(d.get("first_seen", s))
        last = float(d.get("last_seen", e))
        return ([min(k, first) - LITTER_LEAD_S, k, last],
                [("物品出现前", "before the object was there"),
                 ("遗留物品", "the object is left"),
                 ("物品仍在原处", "the object is still there")], 0.0)
    return [s, k, e], [("违法开始", "offence begins"), ("违法时", "offence"), ("违法结束", "offence ends")], 0.0


def _fit(times: list[float], lo: float, hi: float, min_span: float) -> list[float]:
    """Clamp to the clip, keep the stills ``MIN_GAP_S`` apart around the offence still, and the
    first and last more than ``min_span`` apart where the clip allows."""
    if hi - lo < 2 * MIN_GAP_S:
        raise ValueError(f"clip {lo:.2f}-{hi:.2f} s is too short for three distinct stills")
    b, k, a = (min(max(t, lo), hi) for t in times)
    k = min(max(k, lo + MIN_GAP_S), hi - MIN_GAP_S)
    b = min(b, k - MIN_GAP_S)
    a = max(a, k + MIN_GAP_S)
    if min_span > 0 and a - b <= min_span:
        need = min_span + MIN_GAP_S - (a - b)
        a = min(hi, a + need / 2)
        b = max(lo, b - (min_span + MIN_GAP_S - (a - b)))
        a = min(hi, max(a, b + min_span + MIN_GAP_S))
        if a - b <= min_span:
            log.warning("clip %.2f-%.2f s cannot show two stills more than %.1f s apart", lo, hi, min_span)
    return [round(b, 3), round(k, 3), round(a, 3)]


def sheet_moments(event: ViolationEvent, scene: Scene, clip_start_s: float, clip_end_s: float) -> list[SheetMoment]:
    """The stills to show for ``event``, in time order, inside ``[clip_start_s, clip_end_s]``.

    Red light: on the kerb, stepping in, on the crossing. Wrong way: approaching, confirmed, still
    going. Parking: stopped, over the limit, still there (first and last further apart than the
    allowed stop). Litter: before, left, still there. Pure: the same event gives the same times.
    """
    del scene  # the moments depend on the event alone today; the scene is for per-camera leads
    times, labels, min_span = _labels(event)
    fitted = _fit(times, clip_start_s, clip_end_s, min_span)
    stages = ("before", "offence", "after")
    stage_zh = {"before": "违法前", "offence": "违法时", "after": "违法后"}
    return [SheetMoment(t, st, f"{stage_zh[st]}：{zh}", f"{st}: {en}")
            for t, st, (zh, en) in zip(fitted, stages, labels)]


# -- what the captions say ---------------------------------------------------------------------

SIGNAL_SOURCES = {
    "roi": ("图像识别（画面中的信号灯）", "read from the image"),
    "schedule": ("信号配时方案", "signal schedule"),
    "timeline": ("信号记录", "signal log"),
}
# Picture directions by sector of 45 degrees, counter-clockwise from "right" (image y points down).
_SECTORS = [("右方", "right"), ("右上方", "top right"), ("上方", "top"), ("左上方", "top left"),
            ("左方", "left"), ("左下方", "bottom left"), ("下方", "bottom"), ("右下方", "bottom right")]


def local_time(scene: Scene, t: float) -> tuple[str, str]:
    """Wall-clock time to the second with zone, or a plain statement that it is unknown."""
    wc = wall_clock(scene, t)
    if wc is None:
        return f"时间未知（未设置起始时间），视频第 {t:.2f} 秒", f"wall clock unknown (no start time), video {t:.2f} s"
    off = wc.strftime("%z")
    off = f"{off[:3]}:{off[3:]}" if len(off) == 5 else off
    text = f"{wc:%Y-%m-%d %H:%M:%S} {wc.tzname() or ''} (UTC{off}, {scene.timezone})".replace("  ", " ")
    return f"{text}，视频第 {t:.2f} 秒", f"{text}, video {t:.2f} s"


def travel_direction(event: ViolationEvent) -> tuple[str, str]:
    """Direction of travel in the picture (no compass: scenes do not say where north is)."""
    if event.rule == "illegal_parking":
        return "停驶（原地停放）", "stationary (parked)"
    if event.rule == "litter":
        return "不适用", "n/a"
    pts = sorted(event.path)
    if len(pts) < 2:
        return "未知", "unknown"
    (_, x0, y0), (_, x1, y1) = pts[0], pts[-1]
    dx, dy = x1 - x0, y1 - y0
    if math.hypot(dx, dy) < 5.0:
        return "基本静止", "almost stationary"
    zh, en = _SECTORS[int(((math.degrees(math.atan2(-dy, dx)) + 22.5) % 360) // 45)]
    zh, en = f"向画面{zh}行进", f"towards the {en} of the picture"
    if event.rule == "wrong_way":
        angle = (event.details or {}).get("angle_deg")
        dev_zh = f"，偏离 {angle:.0f}°" if isinstance(angle, (int, float)) else ""
        dev_en = f", {angle:.0f}° off" if isinstance(angle, (int, float)) else ""
        zh += f"（与车道规定方向相反{dev_zh}）"
        en += f" (against the lane's direction{dev_en})"
    return zh, en


def sheet_caption(
    event: ViolationEvent, scene: Scene, moments: Sequence[SheetMoment], *,
    signal_log: SignalLog | None = None, case_id: str = "", codes: Mapping[str, str] | None = None,
    clock_from: tuple[str, str] | None = None,
) -> SheetCaption:
    """The caption text for ``event``'s sheet; facts per still for ``moments`` and ``event.key_t``
    (the close-up's instant). ``codes``: the city's offence codes (see ``offences``);
    ``clock_from``: (zh, en) words for where the wall-clock time comes from."""
    offence = offence_for(event.rule, event.object_class, codes)
    sig = next((s for s in scene.signals if s.name == event.signal), None) if event.signal else None
    if sig is None:
        src = ("不适用（本违法行为不涉及信号灯）", "n/a (no signal involved)")
    else:
        kind = "roi" if sig.roi is not None else "schedule" if sig.schedule is not None else "timeline"
        src = SIGNAL_SOURCES[kind]
    facts = {}
    for t in [*(m.t for m in moments), event.key_t]:
        zh, en = local_time(scene, t)
        state = None
        if sig is not None:
            state = (signal_log.at(t).get(sig.name, SignalColor.UNKNOWN) if signal_log else SignalColor.UNKNOWN).value
        facts[round(t, 3)] = MomentFacts(zh, en, state)
    direction = travel_direction(event)
    ids = ids_text(event.track_ids)
    ids_en = ", ".join(f"#{i}" for i in event.track_ids)
    return SheetCaption(
        case_id=case_id, camera=scene.camera, place=scene.place_in("zh-CN") or "", place_en=scene.place_in("en") or "",
        offence_zh=offence.name_zh, offence_en=offence.name_en, offence_code=offence.code,
        direction_zh=direction[0], direction_en=direction[1],
        subject_zh=f"{class_zh(event.object_class)} {ids}".strip(), subject_en=f"{event.object_class} {ids_en}".strip(),
        signal_name=sig.name if sig is not None else None, signal_source_zh=src[0], signal_source_en=src[1],
        explanation_zh=event.explanation_zh, explanation_en=event.explanation, moments=facts,
        clock_from_zh=clock_from[0] if clock_from else "", clock_from_en=clock_from[1] if clock_from else "",
    )


# -- which frames, where the offender is -------------------------------------------------------

class StillPicker:
    """Keeps, while a clip is decoded frame by frame, the frame nearest each wanted time.

    ``offer(t, frame)`` copies a frame only when it is nearer than the one kept, so the writer can
    call it on every decoded frame of the case span (before drawing on it).
    """

    def __init__(self, times: Sequence[float]) -> None:
        self.times = [float(t) for t in times]
        self._best: list[tuple[float, float, np.ndarray] | None] = [None] * len(self.times)

    def offer(self, t: float, frame_bgr: np.ndarray) -> None:
        for i, want in enumerate(self.times):
            kept = self._best[i]
            if kept is None or abs(t - want) < kept[0]:
                self._best[i] = (abs(t - want), t, frame_bgr.copy())

    def frame(self, i: int) -> tuple[float, np.ndarray] | None:
        """(frame time, BGR image) kept for ``times[i]``, None when no frame was offered."""
        kept = self._best[i]
        return (kept[1], kept[2]) if kept is not None else None


def litter_object_box(event: ViolationEvent, t: float) -> Box | None:
    """A litter case's object (scene px) once it is there, else None."""
    details = event.details or {}
    if event.rule == "litter" and details.get("object_box") and t >= float(details.get("first_seen", event.start_s)) - 1e-6:
        return tuple(float(v) for v in details["object_box"])  # type: ignore[return-value]
    return None


def offender_box_at(event: ViolationEvent, track_log: TrackLog | None, t: float) -> list[Box]:
    """Where the offender is at ``t`` (scene px): the nearest observation of its tracks within
    one analysis interval; a litter case's object once it is there; else the key box during the
    event (a parked car does not move). Empty when it is not in view."""
    boxes: list[Box] = []
    if track_log is not None and event.track_ids:
        reach = max(0.5, track_log.max_age())
        near = track_log.track(event.track_ids, t - reach, t + reach)
        if near:
            boxes.append(min(near, key=lambda o: abs(o.t - t)).box)
    if (left := litter_object_box(event, t)) is not None:
        boxes.append(left)
    if not boxes and event.key_box is not None and event.start_s - 1e-6 <= t <= event.end_s + 1e-6:
        boxes.append(event.key_box)
    return boxes


def to_image_px(box: Box, scene: Scene, image_shape: tuple[int, ...]) -> Box:
    sx, sy = image_shape[1] / scene.frame_size[0], image_shape[0] / scene.frame_size[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


ZONE_WORDS = {"crosswalk": ("人行横道", "crossing"), "lane": ("车道，箭头为规定行驶方向", "lane, arrow = legal direction"),
              "no_parking": ("禁止停车区域", "no-parking zone"), "no_litter": ("禁止乱扔区域", "no-litter zone")}


def zone_overlay(scene: Scene, event: ViolationEvent, image_shape: tuple[int, ...]) -> ZoneOverlay | None:
    """``event``'s zone scaled to stills of ``image_shape``; None when the scene has no such zone."""
    zone = next((z for z in scene.zones if z.name == event.zone), None)
    if zone is None:
        return None
    sx, sy = image_shape[1] / scene.frame_size[0], image_shape[0] / scene.frame_size[1]
    direction = None
    if isinstance(zone, LaneZone):
        (x1, y1), (x2, y2) = zone.direction
        dx, dy = (x2 - x1) * sx, (y2 - y1) * sy
        norm = math.hypot(dx, dy) or 1.0
        direction = (dx / norm, dy / norm)
    zh, en = ZONE_WORDS.get(zone.kind, (zone.kind, zone.kind))
    return ZoneOverlay(zone.name, tuple((x * sx, y * sy) for x, y in zone.polygon),
                       ZONE_COLORS.get(type(zone), (255, 255, 255)), zh, en, direction,
                       title_zh=scene.zone_label(zone.name, "zh-CN") or "", title_en=scene.zone_label(zone.name, "en") or "")


def sheet_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a sheet, encoded like every other evidence picture (OpenCV, given quality)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def render_sheet(
    event: ViolationEvent, scene: Scene, moments: Sequence[SheetMoment],
    frames: Sequence[tuple[float, np.ndarray]] | StillPicker, closeup: np.ndarray, *,
    track_log: TrackLog | None = None, signal_log: SignalLog | None = None, case_id: str = "",
    codes: Mapping[str, str] | None = None, clock_from: tuple[str, str] | None = None,
) -> ComposedSheet:
    """The writer's one call: the sheet (``.image``, BGR) for ``moments``.

    ``frames[i]`` is ``(t, upright BGR)`` of the decoded frame nearest ``moments[i].t`` (what
    ``clips.stills_at`` returns as ``Still.t, Still.image_bgr``), or a ``StillPicker`` that kept
    them. Each still is captioned, boxed and given its signal state at the time of the frame
    actually shown, which is within half a frame of the moment.
    """
    if isinstance(frames, StillPicker):
        picked = [frames.frame(i) for i in range(len(moments))]
        if any(p is None for p in picked):
            raise ValueError("no frame was kept for some still")
        frames = picked
    if len(frames) != len(moments):
        raise ValueError(f"{len(moments)} moments but {len(frames)} frames")
    stills, boxes = [], []
    for m, (t, image) in zip(moments, frames):
        shown = SheetMoment(round(float(t), 3), m.stage, m.label_zh, m.label_en)
        stills.append((shown, image))
        boxes.append([to_image_px(b, scene, image.shape) for b in offender_box_at(event, track_log, t)])
    caption = sheet_caption(event, scene, [m for m, _ in stills], signal_log=signal_log, case_id=case_id,
                            codes=codes, clock_from=clock_from)
    zone = zone_overlay(scene, event, stills[0][1].shape)
    return layout_sheet(stills, closeup, caption, boxes, zone=zone, closeup_t=event.key_t)
