"""Text with Chinese characters on evidence images (OpenCV's Hershey fonts have no CJK glyphs).

The evidence sheet's captions must read in Simplified Chinese and English, so they are drawn with
FreeType through Pillow, using a CJK font installed on the machine (``scripts/setup.sh`` installs
Debian's ``fonts-noto-cjk``; ``CIVICWATCH_CJK_FONT`` names another file). Without one, text is
drawn in Pillow's own Latin font with every character it cannot show replaced by ``?`` and the
caller is told (``TextStyle.cjk`` is False) so that it can leave the Chinese out: a caption of
empty boxes ("tofu") would look like evidence while saying nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

FONT_ENV = "CIVICWATCH_CJK_FONT"
# Debian's and common distributions' font folders, searched for the files below in this order.
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
# Simplified-Chinese-capable fonts, best first: Noto Sans CJK (fonts-noto-cjk), WenQuanYi
# (fonts-wqy-microhei / -zenhei), Droid Sans Fallback (fonts-droid-fallback).
CJK_FONT_FILES = (
    "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf",
    "wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf",
)
PROBE = "违法"  # two different ideographs: a font without them draws two identical boxes


@dataclass(frozen=True)
class FontChoice:
    path: Path
    index: int  # face index inside a .ttc collection


def _has_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """True when the face draws real, distinct glyphs for Chinese characters (not .notdef boxes)."""
    masks = []
    for ch in PROBE:
        mask = font.getmask(ch)
        if mask.getbbox() is None:
            return False
        masks.append(bytes(mask))
    return masks[0] != masks[1]


def _sc_face(path: Path) -> int | None:
    """The face of ``path`` to use: the Simplified Chinese one of a collection when named so."""
    chosen = None
    for index in range(16):
        try:
            font = ImageFont.truetype(str(path), 20, index=index)
        except OSError:
            break
        family = " ".join(font.getname())
        if not _has_cjk(font):
            continue
        if chosen is None:
            chosen = index
        if " SC" in family or "SC " in family or family.endswith("SC"):
            return index
    return chosen


def _candidates() -> list[Path]:
    env = os.environ.get(FONT_ENV)
    found = [Path(env).expanduser()] if env else []
    for name in CJK_FONT_FILES:
        for folder in FONT_DIRS:
            root = Path(folder).expanduser()
            if root.is_dir():
                found.extend(sorted(root.rglob(name)))
    return found


@lru_cache(maxsize=1)
def find_cjk_font() -> FontChoice | None:
    """The first installed font that really draws Chinese, or None (warned once)."""
    for path in _candidates():
        if not path.is_file():
            continue
        index = _sc_face(path)
        if index is not None:
            return FontChoice(path, index)
    log.warning("no CJK font found (install fonts-noto-cjk or set %s); evidence captions will be "
                "English only", FONT_ENV)
    return None


@dataclass
class TextStyle:
    """One font at one pixel size: measuring, wrapping and drawing lines of text."""

    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    size: int
    cjk: bool

    @classmethod
    def make(cls, size: int, *, cjk_font: FontChoice | None | bool = True) -> "TextStyle":
        """``cjk_font=True``: find one; a ``FontChoice``: use it; ``None``/False: Latin only."""
        size = max(8, int(size))
        choice = find_cjk_font() if cjk_font is True else (cjk_font or None)
        if choice is not None:
            return cls(ImageFont.truetype(str(choice.path), size, index=choice.index), size, True)
        return cls(ImageFont.load_default(size), size, False)

    def clean(self, text: str) -> str:
        """``text`` as this font can show it: without a CJK font, non-Latin characters become ``?``."""
        if self.cjk:
            return text
        return "".join(c if ord(c) < 0x250 or c in "·—–…" else "?" for c in text)

    def width(self, text: str) -> float:
        return self.font.getlength(self.clean(text))

    @property
    def text_height(self) -> int:
        """Ascender to descender: what one line of this font covers (Noto CJK: ~1.45 em)."""
        ascent, descent = self.font.getmetrics()
        return int(ascent + descent)

    @property
    def line_height(self) -> int:
        return max(int(round(self.size * 1.35)), self.text_height + 2)

    def wrap(self, text: str, max_width: float, sep: str = " · ") -> list[str]:
        """Lines no wider than ``max_width``: break between ``sep``-joined parts, then between
        words, then between characters (Chinese has no spaces)."""
        lines: list[str] = []
        current = ""
        for part in text.split(sep):
            trial = part if not current else current + sep + part
            if self.width(trial) <= max_width:
                current = trial
                continue
            if current:
                lines.append(current)
            current = ""
            for piece in self._split_long(part, max_width):
                if current:
                    lines.append(current)
                current = piece
        if current:
            lines.append(current)
        return lines or [""]

    def _split_long(self, text: str, max_width: float) -> list[str]:
        if self.width(text) <= max_width:
            return [text]
        out, current = [], ""
        for word in text.split(" "):
            trial = word if not current else current + " " + word
            if self.width(trial) <= max_width:
                current = trial
                continue
            if current:
                out.append(current)
                current = ""
            for ch in word:  # a word (or a run of Chinese) wider than the line: by character
                if self.width(current + ch) > max_width and current:
                    out.append(current)
                    current = ""
                current += ch
        if current:
            out.append(current)
        return out


def draw_lines(image_bgr: np.ndarray, lines: list[tuple], origin: tuple[int, int], style: TextStyle) -> None:
    """Draw ``(text, BGR colour)`` or ``(text, colour, BGR background)`` lines top-down from
    ``origin`` onto ``image_bgr`` in place (a background fills the line's own width: a chip).

    Only the rectangle the lines cover goes through Pillow, so a wide sheet is not copied whole.
    """
    if not lines:
        return
    x0, y0 = origin
    h, w = image_bgr.shape[:2]
    width = int(max(style.width(line[0]) for line in lines)) + 6
    height = style.line_height * len(lines)
    x1, y1 = min(w, x0 + width), min(h, y0 + height)
    if x1 <= x0 or y1 <= y0:
        return
    region = Image.fromarray(np.ascontiguousarray(image_bgr[y0:y1, x0:x1, ::-1]))
    pen = ImageDraw.Draw(region)
    for i, line in enumerate(lines):
        text, (b, g, r) = style.clean(line[0]), line[1]
        top = i * style.line_height
        if len(line) > 2 and line[2] is not None:
            bb, bg, br = line[2]
            pen.rectangle([0, top, int(style.width(text)) + 5, top + style.line_height - 2], fill=(br, bg, bb))
        pen.text((3, top + max(0, (style.line_height - style.text_height) // 2)), text, font=style.font, fill=(r, g, b))
    image_bgr[y0:y1, x0:x1] = np.asarray(region)[:, :, ::-1]
