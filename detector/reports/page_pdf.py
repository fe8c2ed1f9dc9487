"""The flight report's summary as a one-page A4 PDF.

The page is drawn as a picture with the evidence text renderer (``detector.evidence.text``: the
same CJK font and fallback as the evidence sheet) and written as a PDF by Pillow, which the
project already depends on: no second text engine or PDF library, and the page looks the same on
every machine because it carries its own pixels. The price is text that cannot be selected; the
HTML page beside it has the same facts as text. Everything must fit one page, so the stills'
grid takes as many columns as it needs; past eight columns the rest are named by count and left
to the HTML page.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from detector.evidence.text import TextStyle, draw_lines
from detector.reports.summary import TITLE, Summary
from detector.reports.video import bilingual

DPI = 150
PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 70
GAP = 16
MAX_COLUMNS = 8
INK, MUTED, WARN, LINE = (20, 24, 28), (90, 96, 110), (0, 92, 179), (200, 200, 210)


def _lines(style: TextStyle, text: str, width: int, colour: tuple) -> list[tuple]:
    return [(part, colour) for part in style.wrap(style.clean(text), width)]


def _still(path: Path, width: int, height: int) -> np.ndarray:
    """The still fitted into ``width`` x ``height`` (grey where its shape leaves room)."""
    cell = np.full((height, width, 3), 235, np.uint8)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return cell
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    y, x = (height - nh) // 2, (width - nw) // 2
    cell[y : y + nh, x : x + nw] = small
    return cell


class _Page:
    def __init__(self) -> None:
        self.image = np.full((PAGE[1], PAGE[0], 3), 255, np.uint8)
        self.y = MARGIN
        self.width = PAGE[0] - 2 * MARGIN

    def text(
        self, lines: list[tuple], style: TextStyle, x: int = MARGIN, after: int = 0
    ) -> None:
        draw_lines(self.image, lines, (x, self.y), style)
        self.y += len(lines) * style.line_height + after

    def rule(self) -> None:
        cv2.line(self.image, (MARGIN, self.y), (PAGE[0] - MARGIN, self.y), LINE, 2)
        self.y += GAP


def _grid(
    summary: Summary, top: int, bottom: int, style: TextStyle, aspect: float
) -> tuple[int, int, int]:
    """``(columns, shown, caption lines)``: the fewest columns whose grid fits between ``top``
    and ``bottom``; at ``MAX_COLUMNS``, as many rows as fit."""
    n = len(summary.cases)
    width = PAGE[0] - 2 * MARGIN
    caption = 3
    for cols in range(2, MAX_COLUMNS + 1):
        cell_w = (width - (cols - 1) * GAP) // cols
        cell_h = round(cell_w * aspect) + caption * style.line_height + GAP
        if math.ceil(n / cols) * cell_h <= bottom - top:
            return cols, n, caption
    cell_w = (width - (MAX_COLUMNS - 1) * GAP) // MAX_COLUMNS
    cell_h = round(cell_w * aspect) + caption * style.line_height + GAP
    rows = max(0, (bottom - top - style.line_height) // cell_h)
    return MAX_COLUMNS, min(n, rows * MAX_COLUMNS), caption


def render_page(summary: Summary, folder: Path) -> np.ndarray:
    """The page as a BGR picture; stills are read from ``folder`` (the report folder)."""
    page = _Page()
    title = TextStyle.make(34)
    body = TextStyle.make(20, cjk_font=title.cjk)
    small = TextStyle.make(16, cjk_font=title.cjk)
    page.text(
        _lines(title, bilingual(title, *TITLE), page.width, INK), title, after=GAP // 2
    )
    for zh, en in summary.notes:
        page.text(_lines(body, bilingual(body, zh, en), page.width, WARN), body)
    page.y += GAP // 2
    for lz, le, vz, ve in summary.header():
        page.text(
            _lines(
                body,
                f"{bilingual(body, lz, le)}: {bilingual(body, vz, ve)}",
                page.width,
                INK,
            ),
            body,
        )
    page.y += GAP // 2
    page.rule()
    page.text(
        [(bilingual(body, "按违法行为统计", "Cases by offence"), INK)], body, after=4
    )
    for offence, n in summary.counts:
        code = f" ({offence.code})" if offence.code else ""
        page.text(
            _lines(
                body,
                f"{n} × {bilingual(body, offence.name_zh, offence.name_en)}{code}",
                page.width - 20,
                INK,
            ),
            body,
            x=MARGIN + 20,
        )
    page.text(
        [(f"{bilingual(body, '合计', 'Total')}: {len(summary.cases)}", INK)],
        body,
        x=MARGIN + 20,
        after=GAP // 2,
    )
    page.rule()

    footer_y = PAGE[1] - MARGIN + small.line_height // 2
    aspect = 9 / 16
    first = summary.stills.get(summary.cases[0].number)
    probe = cv2.imread(str(folder / first), cv2.IMREAD_COLOR) if first else None
    if probe is not None:
        aspect = probe.shape[0] / probe.shape[1]
    cols, shown, caption = _grid(summary, page.y, footer_y - GAP, small, aspect)
    cell_w = (page.width - (cols - 1) * GAP) // cols
    pic_h = round(cell_w * aspect)
    cell_h = pic_h + caption * small.line_height + GAP
    for i, case in enumerate(summary.cases[:shown]):
        x, y = MARGIN + (i % cols) * (cell_w + GAP), page.y + (i // cols) * cell_h
        still = summary.stills.get(case.number)
        if still:
            page.image[y : y + pic_h, x : x + cell_w] = _still(
                folder / still, cell_w, pic_h
            )
        cv2.rectangle(page.image, (x, y), (x + cell_w - 1, y + pic_h - 1), LINE, 1)
        f = summary.case_lines(case)
        lines = [
            f"{case.number}. {bilingual(small, f['offence_zh'], f['offence_en'])}",
            bilingual(small, f["time_zh"], f["time_en"]),
            bilingual(small, f["place_zh"], f["place_en"]),
        ]
        wrapped = [
            (part, INK)
            for text in lines
            for part in small.wrap(small.clean(text), cell_w - 4)
        ][:caption]
        draw_lines(page.image, wrapped, (x, y + pic_h + 2), small)
    if shown < len(summary.cases):
        more = len(summary.cases) - shown
        y = page.y + math.ceil(shown / cols) * cell_h
        draw_lines(
            page.image,
            [
                (
                    bilingual(
                        small,
                        f"另有 {more} 起案件见 HTML 报告",
                        f"{more} more case(s) in the HTML summary",
                    ),
                    MUTED,
                )
            ],
            (MARGIN, y),
            small,
        )
    foot = bilingual(
        small,
        "第 1 页，共 1 页 · CivicWatch 飞行报告",
        "Page 1 of 1 · CivicWatch flight report",
    )
    draw_lines(page.image, [(foot, MUTED)], (MARGIN, footer_y), small)
    return page.image


def write_pdf(summary: Summary, folder: Path, path: Path) -> None:
    """The one-page PDF of ``summary`` at ``path``."""
    image = Image.fromarray(
        np.ascontiguousarray(render_page(summary, folder)[:, :, ::-1])
    )
    made = summary.info.made_at
    image.save(
        path,
        "PDF",
        resolution=float(DPI),
        title=f"{TITLE[1]}",
        author="CivicWatch",
        **(
            {"creationDate": made.utctimetuple(), "modDate": made.utctimetuple()}
            if made is not None
            else {}
        ),
    )
