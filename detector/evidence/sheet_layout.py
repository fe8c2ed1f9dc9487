"""How an evidence sheet looks: the stills and the close-up two to a row, each over its caption band.

``detector.evidence.sheet`` decides what to show and say; this module only draws it, so that the
layout can change (or a redacted copy be drawn from redacted stills) without touching the rules
of evidence. Text goes through ``detector.evidence.text`` (Chinese needs a CJK font).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.evidence.annotate import OFFENDER_COLOR
from detector.evidence.text import TextStyle, draw_lines
from detector.types import Box, Point

COLUMNS = 2
MAX_SHEET_WIDTH = 3840  # 2 x 1920: larger sources are scaled down to this
MAX_CLOSEUP_ZOOM = 8.0


@dataclass(frozen=True)
class SheetMoment:
    """One still of the sheet: video time ``t`` and what it shows."""

    t: float
    stage: str  # before | offence | after
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class MomentFacts:
    """What a still's caption says about its own instant."""

    local_time: str  # "2024-05-01 08:00:12 CST (UTC+08:00, Asia/Shanghai)", or why it is unknown
    local_time_en: str
    signal: str | None  # red | green | unknown; None when the rule involves no signal


@dataclass(frozen=True)
class SheetCaption:
    """Everything written on the sheet. Case-wide fields, plus ``moments`` keyed by still time."""

    case_id: str
    camera: str
    place: str  # in the scene's primary language (Chinese), or its only text
    offence_zh: str
    offence_en: str
    offence_code: str
    direction_zh: str
    direction_en: str
    subject_zh: str  # "行人 #7"
    subject_en: str  # "person #7"
    signal_name: str | None
    signal_source_zh: str
    signal_source_en: str
    explanation_zh: str = ""
    explanation_en: str = ""
    clock_from_zh: str = ""  # where the wall-clock times come from (scene file, upload, container)
    clock_from_en: str = ""
    moments: Mapping[float, MomentFacts] = field(default_factory=dict)
    place_en: str = ""  # the place in English when the scene names it so; "" = ``place`` in both

    def facts(self, t: float) -> MomentFacts:
        found = self.moments.get(round(t, 3))
        if found is not None:
            return found
        return MomentFacts(f"视频第 {t:.2f} 秒", f"video {t:.2f} s", None)


@dataclass(frozen=True)
class ZoneOverlay:
    """The case's zone on the stills (in still pixels), so the reviewer sees where the rule applies
    and, for a lane, which way is legal (an arrow in the zone's tag, never over the offender)."""

    name: str
    polygon: tuple[Point, ...]
    color: tuple[int, int, int]
    label_zh: str
    label_en: str
    direction: tuple[float, float] | None = None  # a lane's legal direction, unit vector in the picture
    # the zone's display name (the scene's ``label``); without one the tag shows ``name``, the key
    title_zh: str = ""
    title_en: str = ""


# -- layout ----------------------------------------------------------------------------------

WHITE, YELLOW, GREY = (255, 255, 255), (0, 230, 255), (200, 200, 200)
SIGNAL_WORDS = {"red": ("红灯", "RED"), "green": ("绿灯", "GREEN"), "unknown": ("未知", "UNKNOWN")}
# Signal line: white text on a chip of the state's colour (readable in print and by OCR).
STATE_CHIPS = {"red": (0, 0, 190), "green": (0, 130, 0), "unknown": (90, 90, 90)}


def _bi(style: TextStyle, zh: str, en: str) -> str:
    return f"{zh} {en}" if style.cjk else en


def _bi_name(style: TextStyle, zh: str, en: str) -> str:
    """A name given per language (place, zone label): once when both are the same text."""
    return zh if zh == en or not en else _bi(style, zh, en)


def _panel_lines(style: TextStyle, cap: SheetCaption, number: int, head_zh: str, head_en: str,
                 t: float) -> list[tuple[str, tuple]]:
    facts = cap.facts(t)
    time = facts.local_time if style.cjk else facts.local_time_en
    code = cap.offence_code or _bi(style, "未配置", "not configured")
    lines = [
        (f"[{number}] {_bi(style, head_zh, head_en)} · {time}", YELLOW),
        (f"{_bi(style, '违法行为', 'Offence')}: {_bi(style, cap.offence_zh, cap.offence_en)} · "
         f"{_bi(style, '违法代码', 'Code')}: {code} · {_bi(style, '对象', 'Subject')}: {_bi(style, cap.subject_zh, cap.subject_en)}", WHITE),
        (f"{_bi(style, '地点', 'Place')}: {_bi_name(style, cap.place, cap.place_en) or _bi(style, '未设置', 'not set')} · "
         f"{_bi(style, '设备编号', 'Camera')}: {cap.camera} · "
         f"{_bi(style, '行进方向', 'Direction')}: {_bi(style, cap.direction_zh, cap.direction_en)}", WHITE),
    ]
    if cap.signal_name is None or facts.signal is None:
        lines.append((f"{_bi(style, '信号灯', 'Signal')}: {_bi(style, cap.signal_source_zh, cap.signal_source_en)}", GREY))
    else:
        zh, en = SIGNAL_WORDS.get(facts.signal, (facts.signal, facts.signal.upper()))
        lines.append((f"{_bi(style, '信号灯', 'Signal')} {cap.signal_name}: {_bi(style, zh, en)} · "
                      f"{_bi(style, '来源', 'Source')}: {_bi(style, cap.signal_source_zh, cap.signal_source_en)}",
                      WHITE, STATE_CHIPS.get(facts.signal, STATE_CHIPS["unknown"])))
    return lines


def _wrapped(style: TextStyle, lines: list[tuple], width: int) -> list[tuple]:
    return [(part, *rest) for text, *rest in lines for part in style.wrap(style.clean(text), width)]


def _mark(img: np.ndarray, boxes: Sequence[Box], style: TextStyle) -> None:
    h, w = img.shape[:2]
    thick = max(2, w // 400)
    for x1, y1, x2, y2 in boxes:
        p1 = (int(max(0, x1 - thick)), int(max(0, y1 - thick)))
        p2 = (int(min(w - 1, x2 + thick)), int(min(h - 1, y2 + thick)))
        cv2.rectangle(img, p1, p2, OFFENDER_COLOR, thick, cv2.LINE_AA)
        tag = _bi(style, "违法主体", "offender")
        tw, th = int(style.width(tag)) + 6, style.line_height
        tx, ty = min(p1[0], max(0, w - tw)), p1[1] - th if p1[1] >= th else min(h - th, p2[1])
        draw_lines(img, [(tag, WHITE, OFFENDER_COLOR)], (tx, ty), style)


def _tag_place(img: np.ndarray, pts: np.ndarray, tw: int, th: int, thick: int,
               avoid: Sequence[Box]) -> tuple[int, int]:
    """Where the zone's tag goes: over the zone's top edge, else inside its bottom edge, else a
    corner of the picture: the first place that covers none of the offender's boxes."""
    h, w = img.shape[:2]
    top, bottom, left = pts[np.argmin(pts[:, 1])], pts[np.argmax(pts[:, 1])], int(pts[:, 0].min())
    candidates = [(int(top[0]), int(top[1]) - th - thick), (left + thick, int(bottom[1]) - th - thick),
                  (0, 0), (w - tw, 0), (0, h - th), (w - tw, h - th)]
    placed = []
    for cx, cy in candidates:
        x, y = int(min(max(0, cx), max(0, w - tw))), int(min(max(0, cy), max(0, h - th)))
        placed.append((x, y))
        if not any(x < b[2] and b[0] < x + tw and y < b[3] + th and b[1] - th < y + th for b in avoid):
            return x, y
    return placed[0]


def zone_tag(style: TextStyle, zone: ZoneOverlay) -> str:
    """The words on a zone's tag: its display name (else its key) and what kind of zone it is."""
    title = _bi_name(style, zone.title_zh, zone.title_en) if zone.title_zh or zone.title_en else zone.name
    return f"{title}: {_bi(style, zone.label_zh, zone.label_en)}"


def _draw_zone(img: np.ndarray, zone: ZoneOverlay, sx: float, sy: float, style: TextStyle,
               avoid: Sequence[Box] = ()) -> None:
    thick = max(1, img.shape[1] // 640)
    pts = np.array([[round(x * sx), round(y * sy)] for x, y in zone.polygon], np.int32)
    cv2.polylines(img, [pts], True, zone.color, thick, cv2.LINE_AA)
    label = zone_tag(style, zone)
    th = style.line_height
    arrow_w = th if zone.direction is not None else 0
    tw = int(style.width(label)) + 6 + arrow_w
    x, y = _tag_place(img, pts, tw, th, thick, avoid)
    cv2.rectangle(img, (x, y), (x + tw, y + th), zone.color, -1)
    draw_lines(img, [(label, (0, 0, 0))], (x, y), style)
    if zone.direction is not None:
        cx, cy, r = x + tw - th / 2, y + th / 2, th * 0.38
        dx, dy = zone.direction
        cv2.arrowedLine(img, (round(cx - dx * r), round(cy - dy * r)), (round(cx + dx * r), round(cy + dy * r)),
                        (0, 0, 0), max(2, th // 10), cv2.LINE_AA, tipLength=0.45)


@dataclass
class ComposedSheet:
    """A composed sheet and its geometry: ``panels[i]`` is picture ``i`` (stills, then the
    close-up) and ``bands[i]`` its caption band, each ``(x, y, w, h)`` in sheet pixels."""

    image: np.ndarray
    panels: list[tuple[int, int, int, int]]
    bands: list[tuple[int, int, int, int]]
    closeup_zoom: float
    chinese: bool  # False when no CJK font was found and the captions are English only


def _fit_closeup(closeup: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    ch, cw = closeup.shape[:2]
    zoom = min(width / cw, height / ch, MAX_CLOSEUP_ZOOM)
    size = (max(1, round(cw * zoom)), max(1, round(ch * zoom)))
    big = cv2.resize(closeup, size, interpolation=cv2.INTER_CUBIC if zoom > 1 else cv2.INTER_AREA)
    panel = np.full((height, width, 3), 32, np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    panel[y:y + size[1], x:x + size[0]] = big
    return panel, zoom


def layout_sheet(
    stills: Sequence[tuple[SheetMoment, np.ndarray]], closeup: np.ndarray, caption: SheetCaption,
    offender_boxes: Sequence[Sequence[Box]] = (), *, zone: ZoneOverlay | None = None, closeup_t: float | None = None,
    cjk_font=True,  # noqa: ANN001 - passed to TextStyle.make (tests force the Latin fallback)
) -> "ComposedSheet":
    """The sheet (BGR) and where its parts are: a title band, then the stills and the close-up two to a row, each over a
    caption band. ``offender_boxes[i]`` are boxes in still ``i``'s pixels, outlined in magenta;
    ``zone`` (still pixels) is outlined thinly in its annotation colour.

    Stills keep their native scale (two 960 px stills make a 1920 px sheet; 640 px ones 1280 px);
    larger sources are scaled so that the sheet is at most ``MAX_SHEET_WIDTH`` wide.
    """
    if len(stills) < 3:
        raise ValueError(f"an evidence sheet needs at least three stills, got {len(stills)}")
    h0, w0 = stills[0][1].shape[:2]
    scale = min(1.0, MAX_SHEET_WIDTH / (COLUMNS * w0))
    pw, ph = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    style = TextStyle.make(max(14, round(pw / 52)), cjk_font=cjk_font)
    title = TextStyle.make(max(18, round(pw / 36)), cjk_font=style.cjk and cjk_font)
    pad = max(6, style.size // 2)

    panels: list[tuple[np.ndarray, list[tuple[str, tuple]]]] = []
    for i, (moment, image) in enumerate(stills):
        img = cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA) if image.shape[:2] != (ph, pw) else image.copy()
        sx, sy = pw / image.shape[1], ph / image.shape[0]
        boxes = offender_boxes[i] if i < len(offender_boxes) else ()
        scaled = [(b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy) for b in boxes]
        if zone is not None:
            _draw_zone(img, zone, sx, sy, style, avoid=scaled)
        _mark(img, scaled, style)
        lines = _panel_lines(style, caption, i + 1, moment.label_zh, moment.label_en, moment.t)
        panels.append((img, _wrapped(style, lines, pw - 2 * pad)))
    close_img, zoom = _fit_closeup(closeup, pw, ph)
    kt = closeup_t if closeup_t is not None else next((m.t for m, _ in stills if m.stage == "offence"), stills[0][0].t)
    head = (f"违法主体特写（放大 {zoom:.1f} 倍）", f"close-up of the offender (enlarged {zoom:.1f}x)")
    panels.append((close_img, _wrapped(style, _panel_lines(style, caption, len(stills) + 1, *head, kt), pw - 2 * pad)))

    rows = math.ceil(len(panels) / COLUMNS)
    band_h = max(len(lines) for _, lines in panels) * style.line_height + 2 * pad
    cell_h = ph + band_h
    sheet_w = COLUMNS * pw
    header = [(_bi(title, "道路交通违法行为取证图", "Traffic violation evidence sheet")
               + (f" · {_bi(title, '编号', 'Case')} {caption.case_id}" if caption.case_id else ""), WHITE)]
    explain = caption.explanation_zh if style.cjk and caption.explanation_zh else caption.explanation_en
    if caption.clock_from_en:
        explain += f" · {_bi(style, '时间来源', 'Time from')}: {_bi(style, caption.clock_from_zh, caption.clock_from_en)}"
    header_lines = _wrapped(title, header, sheet_w - 2 * pad)
    expl_lines = _wrapped(style, [(explain, GREY)], sheet_w - 2 * pad) if explain else []
    header_h = len(header_lines) * title.line_height + len(expl_lines) * style.line_height + 2 * pad
    sheet = np.zeros((header_h + rows * cell_h, sheet_w, 3), np.uint8)
    draw_lines(sheet, header_lines, (pad, pad), title)
    draw_lines(sheet, expl_lines, (pad, pad + len(header_lines) * title.line_height), style)
    rects, bands = [], []
    for i, (img, lines) in enumerate(panels):
        x, y = (i % COLUMNS) * pw, header_h + (i // COLUMNS) * cell_h
        sheet[y:y + ph, x:x + pw] = img
        draw_lines(sheet, lines, (x + pad, y + ph + pad), style)
        cv2.rectangle(sheet, (x, y), (x + pw - 1, y + cell_h - 1), (90, 90, 90), 1)
        rects.append((x, y, pw, ph))
        bands.append((x, y + ph, pw, band_h))
    return ComposedSheet(sheet, rects, bands, zoom, style.cjk)


def compose_sheet(
    stills: Sequence[tuple[SheetMoment, np.ndarray]], closeup: np.ndarray, caption: SheetCaption,
    offender_boxes: Sequence[Sequence[Box]] = (), *, zone: ZoneOverlay | None = None, closeup_t: float | None = None,
    cjk_font=True,  # noqa: ANN001
) -> np.ndarray:
    """``layout_sheet``'s image alone (BGR)."""
    return layout_sheet(stills, closeup, caption, offender_boxes, zone=zone, closeup_t=closeup_t,
                        cjk_font=cjk_font).image
