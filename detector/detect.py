"""Object detection on single frames with onnxruntime.

``load_detector()`` gives the default model (YOLOv3-tiny COCO, converted from Darknet on first
use), ``load_detector(NAME)`` a named model of the manifest (``yolov3-tiny-coco-608``,
``nanodet``, ...: ``civicwatch models list``), likewise fetched and converted on first use; any
``.onnx`` in the ultralytics YOLOv8/YOLO11 or YOLO26 layouts also works, and ``.pt``
weights are exported to ONNX when the optional ``ultralytics`` extra is installed. Whatever the
model, ``detect()`` returns ``Detections`` in the frame's own pixels.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detector.models.fetch import ensure_default_model, ensure_models, named_models
from detector.models.layouts import Layout, decode, detect_layout
from detector.models.letterbox import letterbox
from detector.models.manifest import ManifestError
from detector.models.metadata import COCO_NAMES, NAMES_KEY, parse_names
from detector.models.nms import batched_nms
from detector.types import Detections

log = logging.getLogger(__name__)

DEFAULT_INPUT_SIZE = 640  # ultralytics' export default, used when the input shape is dynamic


class DetectorError(RuntimeError):
    """The model cannot be loaded or used; the message says what to do about it."""


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ObjectDetector:
    """One onnxruntime session plus the letterbox, decoder and NMS that fit its output layout."""

    def __init__(
        self, model_path: Path, *, conf: float = 0.25, iou: float = 0.45, threads: int | None = None, max_det: int = 300
    ) -> None:
        self.model_path = Path(model_path)
        self.conf, self.iou, self.max_det = conf, iou, max_det
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise DetectorError(f"cannot load ONNX model {self.model_path}: {err}") from err
        meta = self.session.get_modelmeta()
        metadata = dict(meta.custom_metadata_map)
        self.class_names: dict[int, str] = _class_names(metadata, self.model_path)
        self.name: str = metadata.get("model_name") or self.model_path.stem
        self._input = self.session.get_inputs()[0]
        self.input_size: tuple[int, int] = _input_size(self._input.shape, metadata)
        outputs = self.session.get_outputs()
        try:
            self.layout: Layout = detect_layout([o.shape for o in outputs], metadata, len(self.class_names))
        except ValueError as err:
            raise DetectorError(f"{self.model_path}: {err}") from err
        self._output_name = outputs[0].name

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        """Boxes in ``frame_bgr``'s pixel coordinates, best first."""
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame_bgr.shape}")
        blob, box = letterbox(frame_bgr, self.input_size)
        (output,) = self.session.run([self._output_name], {self._input.name: blob})
        raw = decode(self.layout, output, self.conf)
        if self.layout.needs_nms:
            keep = batched_nms(raw.xyxy, raw.scores, raw.class_ids, self.iou, self.max_det)
        else:
            keep = np.argsort(-raw.scores, kind="stable")[: self.max_det]
        return Detections(box.to_frame(raw.xyxy[keep]), raw.scores[keep], raw.class_ids[keep], self.class_names)

    def __repr__(self) -> str:
        return f"ObjectDetector(name={self.name!r}, layout={self.layout.value}, input_size={self.input_size})"


def load_detector(
    model: str | os.PathLike | None = None, *, conf: float = 0.25, iou: float = 0.45, threads: int | None = None
) -> ObjectDetector:
    """The detector for ``model``: None = default, a model name from the manifest, a path to
    ``.onnx``, or ``.pt`` (ultralytics).

    An existing file always wins over a name. Raises ``DetectorError`` for a model that cannot
    be used, and ``ModelFetchError`` when a named model is not cached and cannot be fetched (no
    registry access, hash mismatch).
    """
    names = _model_names()
    if model is None:
        path = ensure_default_model()
    elif isinstance(model, str) and model in names and not Path(model).exists():
        path = ensure_models([model])[0]
    else:
        path = Path(model).expanduser()
        if not path.is_file():
            known = f" (model names: {', '.join(names)})" if names and not path.suffix else ""
            raise DetectorError(f"model file not found: {path}{known}")
        if path.suffix.lower() == ".pt":
            from detector.models.ultralytics_export import ExportError, export_to_onnx

            try:
                path = export_to_onnx(path)
            except ExportError as err:
                raise DetectorError(str(err)) from err
        elif path.suffix.lower() != ".onnx":
            raise DetectorError(f"unsupported model file {path.name}: give an .onnx file, or .pt with civicwatch[ultralytics]")
    return ObjectDetector(path, conf=conf, iou=iou, threads=threads)


def analysis_model_name() -> str | None:
    """The model the pipeline uses by default (``analysis_model`` in the manifest), or None."""
    from detector.models.manifest import load_manifest

    try:
        return load_manifest().analysis_model
    except ManifestError:
        return None


def load_analysis_detector(model: str | os.PathLike | None = None, **kw) -> ObjectDetector:
    """``load_detector`` for the analysis pipeline: no model given means the manifest's
    ``analysis_model`` (chosen on the development set, see benchmarks/README.md)."""
    return load_detector(model if model is not None else analysis_model_name(), **kw)


def _model_names() -> list[str]:
    """Names from the manifest; none if it is unreadable, so that plain paths still work."""
    try:
        return list(named_models())
    except ManifestError:
        return []


def _class_names(metadata: dict[str, str], path: Path) -> dict[int, str]:
    if NAMES_KEY in metadata:
        try:
            return parse_names(metadata[NAMES_KEY])
        except (ValueError, SyntaxError) as err:
            log.warning("%s: unreadable class names in metadata (%s); using COCO names by index", path.name, err)
    else:
        log.warning("%s: no class names in metadata; using COCO names by index", path.name)
    return dict(enumerate(COCO_NAMES))


def _input_size(shape: list, metadata: dict[str, str]) -> tuple[int, int]:
    """(height, width) from the input shape, else the ``imgsz`` metadata, else 640."""
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
        return int(shape[2]), int(shape[3])
    if "imgsz" in metadata:
        try:
            size = parse_imgsz(metadata["imgsz"])
            if size:
                return size
        except (ValueError, SyntaxError):
            pass
    return DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE


def parse_imgsz(text: str) -> tuple[int, int] | None:
    import ast

    value = ast.literal_eval(text)
    if isinstance(value, int):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None
