"""The flight report's video: each case's few seconds one after another, captioned, in H.264.

The clips of one flight need not share a frame rate, and their timestamps start wherever the cut
fell, so each case is decoded through ``detector.media.frames`` (the evidence timestamp policy)
and resampled to one constant rate: output frame ``k`` shows the last source frame at or before
its instant, so the video runs at the footage's own speed. Pictures are fitted into one frame
size, a caption band under the picture (not over it: nothing of the evidence is hidden) says the
case's number, the wall-clock time as it runs, the place and the offence in Chinese and English
(``detector.evidence.text``), and the frames go through the H.264 writer every evidence video
uses. A title card opens the video so a unit sees at once where, when and how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from detector.decode import picture, probe
from detector.evidence.annotate import OFFENDER_COLOR
from detector.evidence.text import TextStyle, draw_lines
from detector.media.encode import H264Writer, even
from detector.media.frames import FrameReadError, iter_frames
from detector.reports.cases import ReportCase

TITLE_S = 2.0  # the opening card
MAX_WIDTH = 1280  # a short video to watch on a desk, not a copy of the evidence
MIN_FPS, MAX_FPS, DEFAULT_FPS = 10.0, 30.0, 25.0
TIME_BASE = Fraction(1, 90000)
EPS = 1e-6

WHITE, YELLOW, BAND = (255, 255, 255), (0, 230, 255), (24, 24, 24)


def bilingual(style: TextStyle, zh: str, en: str) -> str:
    """``zh en`` where the font draws Chinese, else the English alone (never boxes of tofu)."""
    if not style.cjk:
        return en
    return zh if zh == en or not en else f"{zh} {en}"


@dataclass(frozen=True)
class VideoSegment:
    """Where one case lies in the report video (seconds of the report video)."""

    number: int
    case_id: str
    start_s: float
    end_s: float


@dataclass
class FlightVideo:
    path: Path
    width: int
    height: int
    fps: float
    frames: int
    title_s: float
    segments: list[VideoSegment] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


def report_fps(cases: Sequence[ReportCase]) -> float:
    """The first clip's nominal rate, kept between ``MIN_FPS`` and ``MAX_FPS``."""
    try:
        fps = probe(cases[0].clip).fps
    except Exception:  # noqa: BLE001 - a clip that cannot be read fails later with its own message
        fps = 0.0
    return float(min(MAX_FPS, max(MIN_FPS, fps))) if fps and fps > 0 else DEFAULT_FPS


def _picture_size(cases: Sequence[ReportCase], max_width: int) -> tuple[int, int]:
    info = probe(cases[0].clip)
    scale = min(1.0, max_width / info.width)
    return even(max(2, round(info.width * scale))), even(
        max(2, round(info.height * scale))
    )


class _Frames:
    """Fits pictures into the report's frame and puts the caption band under them."""

    def __init__(self, width: int, height: int, cases: Sequence[ReportCase]):
        self.width, self.height = width, height
        self.style = TextStyle.make(max(14, round(width / 50)))
        self.pad = max(4, self.style.size // 3)
        self.total = len(cases)
        self.fixed = {c.number: self._fixed_lines(c) for c in cases}
        lines = 1 + max((len(v) for v in self.fixed.values()), default=0)
        self.band_h = even(lines * self.style.line_height + 2 * self.pad)
        self._bands: dict[tuple[int, str], np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height + self.band_h

    def _wrap(self, text: str) -> list[str]:
        return self.style.wrap(self.style.clean(text), self.width - 2 * self.pad)

    def _fixed_lines(self, case: ReportCase) -> list[str]:
        s = self.style
        off = case.offence
        offence = f"{bilingual(s, '违法行为', 'Offence')}: {bilingual(s, off.name_zh, off.name_en)}"
        if off.code:
            offence += f" · {bilingual(s, '代码', 'Code')} {off.code}"
        place = bilingual(s, case.place_zh, case.place_en) or bilingual(
            s, "未设置", "not set"
        )
        return [
            *self._wrap(f"{bilingual(s, '地点', 'Place')}: {place}"),
            *self._wrap(offence),
        ]

    def fit(self, bgr: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        """``bgr`` scaled into the picture area (black bars keep its shape), the scale and offset."""
        h, w = bgr.shape[:2]
        scale = min(self.width / w, self.height / h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        ox, oy = (self.width - nw) // 2, (self.height - nh) // 2
        out = np.zeros((self.height, self.width, 3), np.uint8)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        out[oy : oy + nh, ox : ox + nw] = (
            bgr
            if (nw, nh) == (w, h)
            else cv2.resize(bgr, (nw, nh), interpolation=interp)
        )
        return out, scale, ox, oy

    def band(self, case: ReportCase, t: float) -> np.ndarray:
        """The caption band for ``case`` at source second ``t`` (kept per shown second)."""
        zh, en = case.time_text(t)
        key = (case.number, en)
        made = self._bands.get(key)
        if made is None:
            s = self.style
            head = f"[{case.number}/{self.total}] {bilingual(s, '时间', 'Time')}: {bilingual(s, zh, en)}"
            lines = [(line, YELLOW) for line in self._wrap(head)[:1]] + [
                (line, WHITE) for line in self.fixed[case.number]
            ]
            made = np.full((self.band_h, self.width, 3), BAND, np.uint8)
            draw_lines(made, lines, (self.pad, self.pad), s)
            if len(self._bands) > 256:
                self._bands.clear()
            self._bands[key] = made
        return made

    def title_card(self, lines: Sequence[tuple[str, ...]]) -> np.ndarray:
        """The opening card: ``(zh, en)`` lines or ``(label zh, label en, value zh, value en)``
        rows, the first line as the heading."""
        w, h = self.size
        card = np.full((h, w, 3), BAND, np.uint8)
        big = TextStyle.make(max(20, round(w / 30)), cjk_font=self.style.cjk)
        y = max(self.pad, h // 8)
        for i, line in enumerate(lines):
            style, colour = (big, YELLOW) if i == 0 else (self.style, WHITE)
            text = (
                bilingual(style, *line)
                if len(line) == 2
                else f"{bilingual(style, line[0], line[1])}: {bilingual(style, line[2], line[3])}"
            )
            wrapped = style.wrap(style.clean(text), w - 4 * self.pad)
            draw_lines(
                card, [(line, colour) for line in wrapped], (2 * self.pad, y), style
            )
            y += len(wrapped) * style.line_height + (
                self.pad * 2 if i == 0 else self.pad // 2
            )
        return card


def _mark(picture: np.ndarray, box, scale: float, ox: int, oy: int) -> None:
    thick = max(2, picture.shape[1] // 400)
    x1, y1, x2, y2 = (round(v * scale) for v in box)
    cv2.rectangle(
        picture,
        (x1 + ox - thick, y1 + oy - thick),
        (x2 + ox + thick, y2 + oy + thick),
        OFFENDER_COLOR,
        thick,
        cv2.LINE_AA,
    )


_END = object()


def _case_frames(case: ReportCase, fps: float, frames: _Frames):
    """The case's span at ``fps``: each output frame the last source frame at or before its instant."""
    info = probe(case.clip)
    t0 = case.span[0] - case.clip_start_s  # seconds of the clip
    count = max(1, round((case.span[1] - case.span[0]) * fps))
    source = iter_frames(case.clip, info, max(0.0, t0))
    held, pending, fitted = None, None, None
    try:
        for k in range(count):
            target = t0 + k / fps
            while True:
                if pending is None:
                    pending = next(source, _END)
                if pending is _END or (held is not None and pending.t > target + EPS):
                    break
                held, pending, fitted = pending, None, None
            if held is None:
                raise FrameReadError(
                    f"{case.clip.name}: no frame to show for case {case.case_id}"
                )
            if fitted is None:
                # at the clip's first size (decode.picture): the offender's box is in its pixels
                fitted = frames.fit(
                    picture(held.frame, info.rotation, (info.width, info.height))
                )
            t = case.clip_start_s + target
            shown, scale, ox, oy = fitted
            box = case.offender_at(case.clip_start_s + held.t)
            if box is not None:
                shown = shown.copy()
                _mark(shown, box, scale, ox, oy)
            yield np.concatenate([shown, frames.band(case, t)], axis=0)
    finally:
        source.close()


def write_flight_video(
    cases: Sequence[ReportCase],
    out_path: Path,
    title: Sequence[tuple[str, ...]],
    *,
    fps: float | None = None,
    max_width: int = MAX_WIDTH,
    title_s: float = TITLE_S,
    crf: int = 23,
    preset: str = "veryfast",
) -> FlightVideo:
    """Write the report video of ``cases`` (in their order) to ``out_path``: the title card
    (``title``: lines as ``_Frames.title_card`` takes them) for ``title_s`` seconds, then each
    case's span."""
    if not cases:
        raise ValueError("a flight report needs at least one case")
    fps = float(fps) if fps else report_fps(cases)
    width, height = _picture_size(cases, max_width)
    frames = _Frames(width, height, cases)
    out_w, out_h = frames.size
    writer = H264Writer(Path(out_path), out_w, out_h, fps, TIME_BASE, crf, preset)
    index = 0
    segments: list[VideoSegment] = []

    def put(image: np.ndarray) -> None:
        nonlocal index
        writer.encode_bgr(image, round(index * TIME_BASE.denominator / fps))
        index += 1

    try:
        card = frames.title_card(title)
        for _ in range(max(1, round(title_s * fps)) if title_s > 0 else 0):
            put(card)
        shown_title = index
        for case in cases:
            first = index
            for image in _case_frames(case, fps, frames):
                put(image)
            segments.append(
                VideoSegment(
                    case.number,
                    case.case_id,
                    round(first / fps, 3),
                    round(index / fps, 3),
                )
            )
    finally:
        writer.close()
    return FlightVideo(
        Path(out_path), out_w, out_h, fps, index, shown_title / fps, segments
    )
