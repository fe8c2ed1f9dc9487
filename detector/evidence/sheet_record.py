"""Where things are on an evidence sheet, written into the case record.

A published (redacted) copy of the sheet must blur every bystander and keep the offender, so it
has to know, per picture of the sheet, where that picture lies in the sheet and where the
offender is in it. The writer knows this when it composes the sheet; this module turns it into
a small JSON-able record (``case["sheet"]``) so that redaction never has to redo the evidence
logic (which frames, which boxes) or guess the layout. Everything is in sheet pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from detector.evidence.sheet import litter_object_box, offender_box_at, to_image_px
from detector.evidence.sheet_layout import ComposedSheet, SheetMoment
from detector.evidence.tracklog import TrackLog
from detector.scene import Scene
from detector.types import Box, ViolationEvent

Rect = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class SheetPanel:
    """One picture of the sheet: a still (``before`` | ``offence`` | ``after``) or the close-up."""

    kind: str  # still | closeup
    stage: str  # before | offence | after | closeup
    t: float  # video time of the frame shown
    rect: Rect  # the picture, sheet px
    band: Rect  # its caption band (text only), sheet px
    offender: tuple[Box, ...]  # the offender's boxes inside ``rect``, sheet px (may be empty)
    # Those of ``offender`` that are a thing he left (a litter case's object), not him: redaction
    # keeps them sharp but takes no person or face inside one for the offender. Absent in layouts
    # recorded before it (then every box counts as him, as it did).
    objects: tuple[Box, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "stage": self.stage, "t": round(self.t, 3), "rect": list(self.rect),
               "band": list(self.band), "offender": [[round(v, 1) for v in b] for b in self.offender]}
        if self.objects:
            out["objects"] = [[round(v, 1) for v in b] for b in self.objects]
        return out


@dataclass(frozen=True)
class SheetLayout:
    """The sheet's size (w, h) and its pictures in order (stills, then the close-up)."""

    size: tuple[int, int]
    panels: tuple[SheetPanel, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "panels": [p.as_dict() for p in self.panels]}

    @classmethod
    def from_dict(cls, data: Any) -> "SheetLayout | None":
        """Parse ``case["sheet"]``; None when absent or malformed (a case written before layouts
        were recorded): its sheet then cannot be redacted and is not published."""
        if not isinstance(data, Mapping):
            return None
        try:
            w, h = (int(v) for v in data["size"])
            panels = tuple(
                SheetPanel(str(p["kind"]), str(p["stage"]), float(p["t"]),
                           tuple(int(v) for v in p["rect"]), tuple(int(v) for v in p["band"]),  # type: ignore[arg-type]
                           tuple(tuple(float(v) for v in b) for b in p.get("offender") or ()),  # type: ignore[misc]
                           tuple(tuple(float(v) for v in b) for b in p.get("objects") or ()))  # type: ignore[misc]
                for p in data["panels"])
        except (KeyError, TypeError, ValueError):
            return None
        if any(len(p.rect) != 4 or len(p.band) != 4 or any(len(b) != 4 for b in (*p.offender, *p.objects))
               for p in panels):
            return None
        return cls((w, h), panels)


def _shift(box: Box, sx: float, sy: float, dx: float, dy: float) -> Box:
    return (box[0] * sx + dx, box[1] * sy + dy, box[2] * sx + dx, box[3] * sy + dy)


def _clip_to(box: Box, rect: Rect) -> Box | None:
    x, y, w, h = rect
    out = (max(box[0], x), max(box[1], y), min(box[2], x + w), min(box[3], y + h))
    return out if out[2] > out[0] and out[3] > out[1] else None


def closeup_offset(closeup_shape: tuple[int, ...], zoom: float, rect: Rect) -> tuple[float, float]:
    """Where the enlarged close-up's top-left corner lies in its panel (it is centred there,
    as ``sheet_layout._fit_closeup`` draws it)."""
    ch, cw = closeup_shape[:2]
    _, _, pw, ph = rect
    return float((pw - max(1, round(cw * zoom))) // 2), float((ph - max(1, round(ch * zoom))) // 2)


def sheet_layout_record(
    sheet: ComposedSheet, event: ViolationEvent, scene: Scene, moments: Sequence[SheetMoment],
    frames: Sequence[tuple[float, np.ndarray]], *, track_log: TrackLog | None,
    closeup_shape: tuple[int, ...], closeup_origin: tuple[float, float] | None,
    closeup_offender: Box | None,
) -> SheetLayout:
    """The layout of ``sheet`` as ``render_sheet`` composed it from ``moments`` and ``frames``
    (the same arguments the writer gave it).

    Still ``i``'s offender boxes are those the sheet outlined (``offender_box_at`` at the time of
    the frame shown), scaled to the panel. The close-up's offender is ``closeup_offender`` (video
    px) moved by ``closeup_origin`` (the crop's top-left corner in video px, None when the
    close-up is the whole frame), enlarged by the sheet's zoom and centred like the picture.
    """
    h, w = sheet.image.shape[:2]
    panels: list[SheetPanel] = []
    for i, (m, (t, image)) in enumerate(zip(moments, frames)):
        rect, band = sheet.panels[i], sheet.bands[i]
        sx, sy = rect[2] / image.shape[1], rect[3] / image.shape[0]
        boxes, things = [], []
        left = litter_object_box(event, t)
        for b in offender_box_at(event, track_log, t):
            inside = _clip_to(_shift(to_image_px(b, scene, image.shape), sx, sy, rect[0], rect[1]), rect)
            if inside is not None:
                boxes.append(inside)
                if left is not None and tuple(b) == left:
                    things.append(inside)
        panels.append(SheetPanel("still", m.stage, float(t), rect, band, tuple(boxes), tuple(things)))
    if len(sheet.panels) > len(moments):
        rect, band = sheet.panels[len(moments)], sheet.bands[len(moments)]
        zoom = sheet.closeup_zoom
        ox, oy = closeup_offset(closeup_shape, zoom, rect)
        boxes = []
        if closeup_offender is not None:
            cx, cy = closeup_origin or (0.0, 0.0)
            moved = (closeup_offender[0] - cx, closeup_offender[1] - cy, closeup_offender[2] - cx, closeup_offender[3] - cy)
            inside = _clip_to(_shift(moved, zoom, zoom, rect[0] + ox, rect[1] + oy), rect)
            if inside is not None:
                boxes.append(inside)
        panels.append(SheetPanel("closeup", "closeup", float(event.key_t), rect, band, tuple(boxes)))
    return SheetLayout((w, h), tuple(panels))
