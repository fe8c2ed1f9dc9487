"""Reading the offender's licence plate with RapidOCR (PP-OCR models run by onnxruntime).

Why not plain ``RapidOCR()(image)``: its multilingual recogniser reads the province character
freely from ~18 000 characters and regularly writes 眠 or 吃 for 皖; and its detector box often cuts
the first character off. So the text detector only finds the lines; each line is cut out again with
extra room on the left, and its per-frame character probabilities are decoded with the plate
grammar: the first character from the 31 province abbreviations, the second from the authority
letters, the rest from the serial characters (see ``plate_format``). The confidence is the mean
probability of the characters chosen, so a forced province with little support shows as a weak read.

The models come out of the ``rapidocr`` wheel itself (its ``models/`` folder); every path is given
explicitly so that rapidocr never tries to download anything. The engine is created on first use
and cached: importing this module costs nothing.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from detector.evidence.plate_format import (
    AUTHORITY_LETTERS, PROVINCES, SEPARATORS, SERIAL, SPECIAL_ENDINGS, format_ok, normalise, plate_kind,
)

Box = Sequence[float]  # x1, y1, x2, y2 in the image's pixels

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
DET_MAX_SIDE = 960  # the text detector sees at most this; vehicle crops are usually smaller
VEHICLE_MARGIN = 0.08  # share of the vehicle box added on each side (plates sit at its edge)
MIN_CHARS = 6  # shorter lines are not plates (a plate has 7 or 8)


@dataclass(frozen=True)
class PlateRead:
    """One plate reading. ``t`` is the video time (s) of the frame it was read from (None for a
    single image); ``frames_read`` how many frames gave this same text."""

    text: str
    confidence: float
    format_ok: bool
    kind: str  # "blue", "yellow", "white", "new-energy" or "unknown"
    frames_read: int = 1
    t: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``plate`` object of a case record."""
        return asdict(self)


_engine: Any = None
_engine_lock = threading.Lock()


def model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _ocr() -> tuple[Any, Any, tuple[str, ...], dict[str, np.ndarray]]:
    """The cached (detector engine, recogniser, its classes, position masks); created on first
    use, thread-safe."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr import RapidOCR

            models = model_dir()
            for name in (DET_MODEL, REC_MODEL, CLS_MODEL):
                if not (models / name).is_file():
                    raise RuntimeError(f"rapidocr's bundled model {name} is missing from {models}; "
                                       "reinstall the rapidocr wheel")
            engine = RapidOCR(params={
                "Global.log_level": "error", "Global.use_cls": False, "Global.use_rec": False,
                "Global.model_root_dir": str(models),
                "Det.model_path": str(models / DET_MODEL), "Rec.model_path": str(models / REC_MODEL),
                "Cls.model_path": str(models / CLS_MODEL),
                "Det.limit_type": "max", "Det.limit_side_len": DET_MAX_SIDE,
                "EngineConfig.onnxruntime.intra_op_num_threads": 2,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
            # rapidocr 3.x: the recogniser's ONNX session, its input scaling and its character table
            # (read from the model's own metadata) are what the grammar decoding below needs.
            rec = engine._load_rec_model()
            if not (hasattr(rec, "session") and hasattr(rec, "resize_norm_img")
                    and hasattr(rec, "postprocess_op")):
                raise RuntimeError("unsupported rapidocr version: its TextRecognizer changed")
            chars = tuple(rec.postprocess_op.character)
            _engine = (engine, rec, chars, position_masks(chars))
        return _engine


def _charset_mask(chars: Sequence[str], allowed: str) -> np.ndarray:
    allowed_set = set(allowed)
    return np.array([c in allowed_set for c in chars], dtype=bool)


def position_masks(chars: Sequence[str]) -> dict[str, np.ndarray]:
    """Which of the recogniser's classes each plate position allows (computed once per engine)."""
    return {name: _charset_mask(chars, allowed) for name, allowed in (
        ("province", PROVINCES), ("authority", AUTHORITY_LETTERS), ("serial", SERIAL),
        ("last", SERIAL + SPECIAL_ENDINGS))}


def decode_plate(probs: np.ndarray, chars: Sequence[str],
                 masks: dict[str, np.ndarray] | None = None) -> tuple[str, float]:
    """CTC-decode one line's character probabilities (T x C) with the plate grammar.

    Greedy segments first (runs of the same non-blank class), separators dropped; when 7 or 8
    characters remain, each is re-chosen within its own time span from the characters its position
    allows. Other lengths are returned as read (they fail the format check)."""
    idx = probs.argmax(axis=1)
    segments: list[tuple[int, int]] = []  # (start, end) time steps of each emitted character
    t = 0
    while t < len(idx):
        end = t
        while end + 1 < len(idx) and idx[end + 1] == idx[t]:
            end += 1
        c = idx[t]
        if c != 0 and 0 < c < len(chars) and chars[c] not in SEPARATORS and not chars[c].isspace():
            segments.append((t, end))
        t = end + 1
    if not segments:
        return "", 0.0
    text, conf = [], []
    n = len(segments)
    if n in (7, 8) and masks is None:
        masks = position_masks(chars)
    for pos, (a, b) in enumerate(segments):
        span = probs[a:b + 1].max(axis=0)
        if n in (7, 8):
            allowed = "province" if pos == 0 else "authority" if pos == 1 else "last" if pos == n - 1 else "serial"
            span = np.where(masks[allowed], span, -1.0)
        best = int(span.argmax())
        text.append(chars[best])
        conf.append(float(max(span[best], 0.0)))
    return "".join(text), float(np.mean(conf))


def _order_quad(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = quad.sum(axis=1), np.diff(quad, axis=1).ravel()
    return np.array([quad[s.argmin()], quad[d.argmin()], quad[s.argmax()], quad[d.argmax()]], dtype=np.float32)


# Room added around a detected line, in line heights (left, right, top/bottom). The recogniser
# drops the province character on some plates at one framing and reads it at another (measured on
# the CCPD photos: no single framing reads all of them), so each line is read at these three.
LINE_PADS = ((0.0, 0.0, 0.0), (0.3, 0.15, 0.15), (0.7, 0.2, 0.2))


def _line_crop(image: np.ndarray, quad: np.ndarray, pad: tuple[float, float, float]) -> np.ndarray:
    """The text line rectified, with ``pad`` room added (a province character the detector cut off
    sits just left of its box)."""
    tl, tr, br, bl = _order_quad(quad.astype(np.float32))
    u = tr - tl
    w = float(np.linalg.norm(u)) or 1.0
    u /= w
    v = bl - tl
    h = float(np.linalg.norm(v)) or 1.0
    v /= h
    left, right, vert = pad[0] * h, pad[1] * h, pad[2] * h
    src = np.array([tl - u * left - v * vert, tr + u * right - v * vert,
                    br + u * right + v * vert, bl - u * left + v * vert], dtype=np.float32)
    out_w, out_h = max(8, int(round(w + left + right))), max(8, int(round(h + 2 * vert)))
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32)
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (out_w, out_h),
                               flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def plate_colour(line: np.ndarray) -> str:
    """Background colour of an ordinary (7-character) plate line: blue, yellow or white, from the
    dominant hue among saturated pixels (the characters are white or black and mostly unsaturated).
    Green is no ordinary plate colour, so the hue band between yellow and blue counts as blue."""
    hsv = cv2.cvtColor(line, cv2.COLOR_BGR2HSV)
    sat = hsv[..., 1] > 70
    if sat.mean() < 0.25:
        return "white"
    hue = float(np.median(hsv[..., 0][sat]))  # OpenCV hue: 0..180
    if 10 <= hue <= 35:
        return "yellow"
    if 60 <= hue <= 135:  # blue; dusk and sodium light push CCPD's blue plates down to ~65
        return "blue"
    return "unknown"


def _kind(text: str, line: np.ndarray) -> str:
    fmt = plate_kind(text)
    if fmt == "new-energy":
        return "new-energy"
    if fmt is None:
        return "unknown"
    colour = plate_colour(line)
    return colour if colour in ("blue", "yellow", "white") else "unknown"


def _crop_box(image: np.ndarray, box: Box | None) -> np.ndarray:
    if box is None:
        return image
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = (x2 - x1) * VEHICLE_MARGIN, (y2 - y1) * VEHICLE_MARGIN
    h, w = image.shape[:2]
    xa, ya = max(0, int(x1 - mx)), max(0, int(y1 - my))
    xb, yb = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
    return image[ya:yb, xa:xb]


def read_plate(image_bgr: np.ndarray, box: Box | None = None, t: float | None = None) -> PlateRead | None:
    """The most plate-like text in ``image_bgr`` (inside ``box`` plus a margin when given), or None.

    A valid-format read beats an invalid one; among equals the higher confidence wins."""
    crop = _crop_box(image_bgr, box)
    if crop.size == 0 or min(crop.shape[:2]) < 8:
        return None
    engine, rec, chars, masks = _ocr()
    with _engine_lock:  # onnxruntime sessions are thread-safe, rapidocr's per-call settings are not
        det = engine(crop)
    boxes = getattr(det, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return None
    best: PlateRead | None = None
    _, img_h, img_w = rec.rec_image_shape
    for quad in boxes:
        quad = np.asarray(quad, dtype=np.float32)
        for pad in LINE_PADS:
            line = _line_crop(crop, quad, pad)
            lh, lw = line.shape[:2]
            if lw < lh * 1.5:  # plates are wide; a square blob is a logo or a wheel
                break
            norm = rec.resize_norm_img(line, max(img_w / img_h, lw / lh))
            probs = np.asarray(rec.session(norm[np.newaxis].astype(np.float32)))[0]
            raw, conf = decode_plate(probs, chars, masks)
            text = normalise(raw)
            if len(text) < MIN_CHARS:
                continue
            ok = format_ok(text)
            if best is not None and (ok, conf) <= (best.format_ok, best.confidence):
                continue
            best = PlateRead(text=text, confidence=round(conf, 4), format_ok=ok, kind=_kind(text, line), t=t)
    return best


def best_plate(candidates: Iterable[tuple[float, np.ndarray, Box | None]]) -> PlateRead | None:
    """One plate for a track from several of its frames: ``(time_s, image_bgr, box)`` each.

    Valid-format reads vote by text (the text read in most frames wins, ties by summed confidence);
    only when no frame gave a valid format does the most confident invalid read stand. The result
    carries how many frames agreed and the time of its most confident frame."""
    reads = [r for t, img, box in candidates if (r := read_plate(img, box, t=t)) is not None]
    if not reads:
        return None
    pool = [r for r in reads if r.format_ok] or reads
    groups: dict[str, list[PlateRead]] = defaultdict(list)
    for r in pool:
        groups[r.text].append(r)
    text, group = max(groups.items(), key=lambda kv: (len(kv[1]), sum(r.confidence for r in kv[1])))
    top = max(group, key=lambda r: r.confidence)
    return PlateRead(text=text, confidence=round(sum(r.confidence for r in group) / len(group), 4),
                     format_ok=top.format_ok, kind=top.kind, frames_read=len(group), t=top.t)
