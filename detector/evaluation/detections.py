"""Detector scoring on labelled images: recall, precision and AP50 per class and by box size.

Labels come as YOLO text files (``class cx cy w h``, normalised) or Pascal VOC XML. A class map
says which labelled class the detector should report as which of its own classes (VisDrone's
"pedestrian" and "people" are both COCO "person"; our frames' "rider" is a "person" too), so one
model can be scored on data sets labelled in other vocabularies. Labelled classes the map leaves
out are not scored. Sizes follow COCO: small < 32 px, large >= 96 px, by the square root of the
labelled box's area in image pixels.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from detector.evaluation.labels import read_json
from detector.types import Detections

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
SIZES = ("small", "medium", "large")
IOU_MATCH = 0.5


class DetectionLabelError(ValueError):
    """Labels or a class map that cannot be read; the message names the file."""


def size_bucket(w: float, h: float) -> str:
    side = float(np.sqrt(max(w, 0.0) * max(h, 0.0)))
    return "small" if side < 32 else ("large" if side >= 96 else "medium")


@dataclass(frozen=True)
class ClassMap:
    """Label class (name) -> detector class name; ``names`` turns YOLO ids into label names."""

    names: tuple[str, ...]
    mapping: dict[str, str]

    @classmethod
    def load(cls, path: str | Path) -> ClassMap:
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise DetectionLabelError(f"{p}: cannot read class map: {err}") from None
        except UnicodeDecodeError as err:  # a video or an image given as the class map
            raise DetectionLabelError(f"{p}: not a UTF-8 text file (byte {err.start}); a class map is YAML text") from None
        if not isinstance(data, dict) or not isinstance(data.get("map"), dict):
            raise DetectionLabelError(f"{p}: a class map needs 'map: {{label class: detector class}}' (and 'names' for YOLO ids)")
        names = data.get("names") or ()
        if isinstance(names, dict):  # Ultralytics' data.yaml form, {0: pedestrian, 1: people, ...}
            if not all(isinstance(k, int) and not isinstance(k, bool) for k in names) or \
                    sorted(names) != list(range(len(names))):
                raise DetectionLabelError(f"{p}: names as a mapping must number the classes 0, 1, 2, ... (got keys "
                                          f"{', '.join(map(str, list(names)[:8]))})")
            names = [names[i] for i in range(len(names))]
        elif not isinstance(names, (list, tuple)):
            raise DetectionLabelError(f"{p}: names must be a list of class names in YOLO id order")
        names = tuple(str(n) for n in names)
        mapping = {str(k): str(v) for k, v in data["map"].items() if v}
        return cls(names, mapping)

    @classmethod
    def identity(cls, names: Iterable[str]) -> ClassMap:
        names = tuple(names)
        return cls(names, {n: n for n in names})

    def label_name(self, raw: str) -> str:
        if raw.isdigit() and self.names:
            idx = int(raw)
            if idx >= len(self.names):
                raise DetectionLabelError(f"class id {idx} is beyond the class map's {len(self.names)} names")
            return self.names[idx]
        return raw


@dataclass(frozen=True)
class GroundTruth:
    box: tuple[float, float, float, float]
    label: str  # labelled class name
    target: str  # detector class it should be found as


def _label_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise DetectionLabelError(f"{path}: cannot read label file: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise DetectionLabelError(f"{path}: not a UTF-8 text file (byte {err.start})") from None


def read_yolo(path: Path, width: int, height: int, cmap: ClassMap) -> list[GroundTruth]:
    out = []
    for n, line in enumerate(_label_text(path).splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise DetectionLabelError(f"{path}:{n}: expected 'class cx cy w h'")
        label = cmap.label_name(parts[0])
        if label not in cmap.mapping:
            continue
        try:
            cx, cy, w, h = (float(v) for v in parts[1:5])
        except ValueError:
            raise DetectionLabelError(f"{path}:{n}: cx cy w h must be numbers, got {' '.join(parts[1:5])!r}") from None
        if not all(np.isfinite((cx, cy, w, h))):
            raise DetectionLabelError(f"{path}:{n}: cx cy w h must be finite numbers")
        # YOLO values are shares of the image. Pixel values written by mistake would otherwise be
        # scored as boxes far outside the picture, silently: every one a miss.
        slack = 0.01  # rounding of tools that write boxes touching the edge
        if not (-slack <= cx <= 1 + slack and -slack <= cy <= 1 + slack and 0 < w <= 1 + slack and 0 < h <= 1 + slack):
            raise DetectionLabelError(
                f"{path}:{n}: cx cy w h are shares of the image (0 to 1, w and h above 0), got "
                f"{' '.join(parts[1:5])}" + (" (pixels?)" if max(cx, cy, w, h) > 1 + slack else ""))
        box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
        out.append(GroundTruth(box, label, cmap.mapping[label]))
    return out


def read_voc(path: Path, cmap: ClassMap) -> list[GroundTruth]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise DetectionLabelError(f"{path}: not valid VOC XML: {err}") from None
    out = []
    for obj in root.iter("object"):
        label = cmap.label_name((obj.findtext("name") or "").strip())
        bb = obj.find("bndbox")
        if label not in cmap.mapping or bb is None:
            continue
        try:
            box = tuple(float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError:
            raise DetectionLabelError(f"{path}: bndbox of a {label!r} must hold numbers, got "
                                      f"{[bb.findtext(k) for k in ('xmin', 'ymin', 'xmax', 'ymax')]}") from None
        out.append(GroundTruth(box, label, cmap.mapping[label]))
    return out


@dataclass
class LabelledImage:
    name: str
    image: np.ndarray
    truths: list[GroundTruth]


def images_from_dirs(images: Path, labels: Path, fmt: str, cmap: ClassMap) -> list[LabelledImage]:
    """Every image in ``images`` that has a label file of the same stem in ``labels``."""
    for folder, what in ((images, "--images"), (labels, "--labels")):
        if not Path(folder).is_dir():
            raise DetectionLabelError(f"{what} {folder}: " + ("not a folder" if Path(folder).exists() else "no such folder"))
    out = []
    for img_path in sorted(p for p in Path(images).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        label_path = Path(labels) / (img_path.stem + (".txt" if fmt == "yolo" else ".xml"))
        if not label_path.is_file():
            continue
        image = cv2.imread(str(img_path))
        if image is None:
            raise DetectionLabelError(f"{img_path}: not a readable image")
        h, w = image.shape[:2]
        truths = read_yolo(label_path, w, h, cmap) if fmt == "yolo" else read_voc(label_path, cmap)
        out.append(LabelledImage(img_path.stem, image, truths))
    if not out:
        raise DetectionLabelError(f"no image in {images} has a {fmt} label file in {labels}")
    return out


def read_video_frame(video: Path, frame_index: int) -> np.ndarray:
    """One frame as displayed (OpenCV honours the rotation flag), counted from 0."""
    cap = cv2.VideoCapture(str(video))
    try:
        if not cap.isOpened():
            raise DetectionLabelError(f"{video}: cannot open video")
        image = None
        for _ in range(frame_index + 1):
            ok, image = cap.read()
            if not ok:
                raise DetectionLabelError(f"{video}: has no frame {frame_index}")
        return image
    finally:
        cap.release()


def images_from_frames(frames_json: Path, cmap: ClassMap | None = None) -> tuple[list[LabelledImage], ClassMap]:
    """Frames of videos labelled in YOLO format: ``frames.json`` beside a ``labels/`` folder.

    The frames are read from the footage at evaluation time, so the footage never has to be
    copied next to its labels.
    """
    frames_json = Path(frames_json)
    spec = read_json(frames_json, "frame list", DetectionLabelError)
    frames = spec.get("frames") if isinstance(spec, dict) else None
    if not isinstance(frames, list) or not all(
            isinstance(fr, dict) and isinstance(fr.get("video"), str) and isinstance(fr.get("name"), str)
            and isinstance(fr.get("frame_index"), int) for fr in frames):
        raise DetectionLabelError(f"{frames_json}: expected {{\"frames\": [{{\"name\", \"video\", \"frame_index\"}}, ...], "
                                  "\"classes\": [...]}")
    base = frames_json.parent
    if cmap is None and (base / "classes.yaml").is_file():
        cmap = ClassMap.load(base / "classes.yaml")  # the class map kept beside the labels
    if cmap is None:
        if not isinstance(spec.get("classes"), list):
            raise DetectionLabelError(f"{frames_json}: 'classes' (a list of names) is missing, and no classes.yaml "
                                      "lies beside it")
        cmap = ClassMap.identity(str(c) for c in spec["classes"])
    out = []
    for fr in frames:
        image = read_video_frame((base / fr["video"]).resolve(), int(fr["frame_index"]))
        h, w = image.shape[:2]
        out.append(LabelledImage(fr["name"], image, read_yolo(base / "labels" / f"{fr['name']}.txt", w, h, cmap)))
    return out, cmap


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


@dataclass
class _Pred:
    image: int
    score: float
    box: tuple[float, float, float, float]
    tp: bool = False


def _match(truths: list[GroundTruth], preds: list[_Pred], iou: float = IOU_MATCH) -> list[int | None]:
    """Greedy by score (VOC): each prediction takes the best free truth of its class at IoU >= ``iou``."""
    taken = [False] * len(truths)
    owner: list[int | None] = [None] * len(truths)
    order = sorted(range(len(preds)), key=lambda i: -preds[i].score)
    if truths and preds:
        ious = iou_matrix(np.array([p.box for p in preds], np.float32), np.array([t.box for t in truths], np.float32))
    for i in order:
        best, best_iou = None, iou
        for j in range(len(truths)):
            if not taken[j] and ious[i, j] >= best_iou:
                best, best_iou = j, ious[i, j]
        if best is not None:
            taken[best] = True
            owner[best] = i
            preds[i].tp = True
    return owner


def average_precision(preds: list[_Pred], n_truths: int) -> float | None:
    """All-point interpolated AP (VOC 2010+) from predictions already marked tp/fp."""
    if n_truths == 0:
        return None
    if not preds:
        return 0.0
    preds = sorted(preds, key=lambda p: -p.score)
    tp = np.cumsum([p.tp for p in preds])
    fp = np.cumsum([not p.tp for p in preds])
    recall = tp / n_truths
    precision = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


@dataclass
class Counts:
    truths: int = 0
    found: int = 0

    @property
    def recall(self) -> float | None:
        return self.found / self.truths if self.truths else None


@dataclass
class ClassScore:
    """One detector class at the operating threshold, plus AP50 over all scores."""

    name: str
    truths: int = 0
    predictions: int = 0
    true_positives: int = 0
    ap50: float | None = None
    by_size: dict[str, Counts] = field(default_factory=lambda: {s: Counts() for s in SIZES})

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.truths if self.truths else None

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.predictions if self.predictions else None


@dataclass
class DetectionEvaluation:
    per_target: dict[str, ClassScore]  # by detector class
    per_label: dict[str, dict[str, Counts]]  # labelled class -> size -> recall counts ("all" too)
    images: int
    seconds_per_image: float = 0.0
    iou: float = IOU_MATCH  # the overlap recall and precision were counted at (AP is always AP50)

    @property
    def mean_ap50(self) -> float | None:
        aps = [s.ap50 for s in self.per_target.values() if s.ap50 is not None]
        return float(np.mean(aps)) if aps else None

    def to_dict(self) -> dict:
        def counts(c: Counts) -> dict:
            return {"truths": c.truths, "found": c.found, "recall": c.recall}

        return {
            "images": self.images,
            "seconds_per_image": round(self.seconds_per_image, 4),
            "iou": self.iou,
            "mAP50": self.mean_ap50,
            "per_class": {
                k: {"truths": s.truths, "predictions": s.predictions, "true_positives": s.true_positives,
                    "recall": s.recall, "precision": s.precision, "ap50": s.ap50,
                    "recall_by_size": {z: counts(c) for z, c in s.by_size.items()}}
                for k, s in self.per_target.items()
            },
            "per_label_class": {k: {z: counts(c) for z, c in v.items()} for k, v in self.per_label.items()},
        }


Detect = Callable[[np.ndarray], Detections]


def evaluate_detections(images: list[LabelledImage], detect: Detect, conf: float,
                        iou: float = IOU_MATCH) -> DetectionEvaluation:
    """Run ``detect`` on every image (it should keep boxes down to a low score, for AP) and score.

    Recall and precision are taken at ``conf`` and a box overlap of ``iou`` (0.5, the issue's
    measure; lower ones tell a box found in the wrong place from one not found, which matters for
    people 10-20 px tall labelled to 2-3 px); AP50 over every score ``detect`` returned.
    """
    import time

    targets = sorted({t.target for im in images for t in im.truths})
    per_target = {c: ClassScore(c) for c in targets}
    per_label: dict[str, dict[str, Counts]] = {}
    all_preds: dict[str, list[_Pred]] = {c: [] for c in targets}
    elapsed = 0.0  # detection only, not the scoring
    for k, im in enumerate(images):
        started = time.perf_counter()
        dets = detect(im.image)
        elapsed += time.perf_counter() - started
        names = dets.names()
        for cls in targets:
            truths = [t for t in im.truths if t.target == cls]
            preds = [_Pred(k, float(s), tuple(float(v) for v in b))
                     for b, s, n in zip(dets.xyxy, dets.confidence, names) if n == cls]
            _match(truths, preds)  # every score, for AP
            all_preds[cls].extend(preds)
            operating = [_Pred(k, p.score, p.box) for p in preds if p.score >= conf]
            owner = _match(truths, operating, iou)
            score = per_target[cls]
            score.truths += len(truths)
            score.predictions += len(operating)
            score.true_positives += sum(p.tp for p in operating)
            for t, o in zip(truths, owner):
                size = size_bucket(t.box[2] - t.box[0], t.box[3] - t.box[1])
                score.by_size[size].truths += 1
                score.by_size[size].found += o is not None
                label = per_label.setdefault(t.label, {s: Counts() for s in (*SIZES, "all")})
                for key in (size, "all"):
                    label[key].truths += 1
                    label[key].found += o is not None
    for cls, preds in all_preds.items():
        per_target[cls].ap50 = average_precision(preds, per_target[cls].truths)
    return DetectionEvaluation(per_target, per_label, len(images), elapsed / max(1, len(images)), iou)


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def format_detection_report(ev: DetectionEvaluation, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{ev.images} images, {ev.seconds_per_image * 1000:.0f} ms per image, mAP50 {_r(ev.mean_ap50)}, "
                 f"recall and precision at IoU {ev.iou:g}")
    lines.append(f"{'class':12} {'truths':>6} {'recall':>6} {'prec':>6} {'AP50':>6} {'small':>11} {'medium':>11} {'large':>11}")
    for s in ev.per_target.values():
        sizes = " ".join(f"{_r(c.recall):>5}/{c.truths:<5}" for c in s.by_size.values())
        lines.append(f"{s.name:12} {s.truths:6d} {_r(s.recall):>6} {_r(s.precision):>6} {_r(s.ap50):>6} {sizes}")
    lines.append("recall by labelled class (small / medium / large / all):")
    for name, sizes in ev.per_label.items():
        lines.append(f"  {name:12} " + " ".join(f"{_r(c.recall):>5}/{c.truths:<5}" for c in sizes.values()))
    return "\n".join(lines)


def format_comparison(rows: list[tuple[str, DetectionEvaluation]]) -> str:
    """One Markdown row per setting (e.g. without and with slicing): time, mAP50, recall per
    detector class (all / small boxes), so the cost and the gain read side by side."""
    classes = sorted({c for _, ev in rows for c in ev.per_target})
    head = ["setting", "ms/image", "mAP50", "recall", "small recall"] + [f"{c} R (small)" for c in classes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, ev in rows:
        found = sum(s.true_positives for s in ev.per_target.values())
        truths = sum(s.truths for s in ev.per_target.values())
        small_found = sum(s.by_size["small"].found for s in ev.per_target.values())
        small = sum(s.by_size["small"].truths for s in ev.per_target.values())
        cells = [name, f"{ev.seconds_per_image * 1000:.0f}", _r(ev.mean_ap50),
                 f"{_r(found / truths if truths else None)} ({found}/{truths})",
                 f"{_r(small_found / small if small else None)} ({small_found}/{small})"]
        for c in classes:
            sc = ev.per_target.get(c)
            cells.append("-" if sc is None else f"{_r(sc.recall)} ({_r(sc.by_size['small'].recall)})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
