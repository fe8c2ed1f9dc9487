"""civicwatch demo: the demo footage with planted violations (samples/demo).

Sub-commands live in ``DEMO_COMMANDS`` so that more (``demo run``) can be added beside ``build``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from civicwatch.commands import port_number


def _out_problem(out: Path | None) -> str | None:
    """Why the demo cannot be built into ``out``; None when it can.

    A build overwrites its own files; files of those names that no build wrote (no ``build.json``
    beside them: a user's ``scene.yaml``) were overwritten too, and a file in the folder's place
    raised a traceback."""
    from civicwatch.demo import STAMP_NAME, VIDEO_NAME

    if out is None:
        return None
    above = out
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        where = f"--out {out}" if above == out else f"--out {out}: {above}"
        return f"{where} is a file, not a folder; choose a folder for the demo"
    if not os.access(above, os.W_OK | os.X_OK):  # else a PermissionError traceback from the build
        return f"--out {out}: no permission to write in {above}; choose another folder"
    held = [name for name in (VIDEO_NAME, "scene.yaml", "ground_truth.yaml") if (out / name).exists()]
    if held and not (out / STAMP_NAME).is_file():
        return (f"--out {out} holds {', '.join(held)} that no demo build wrote (no {STAMP_NAME} there); "
                "choose a new or empty folder, nothing in it is overwritten")
    return None


def _build(args: argparse.Namespace) -> int:
    from civicwatch.demo import PhotoError, build_demo, write_sources

    if (problem := _out_problem(args.out)) is not None:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 2
    if args.write_sources:
        for path in write_sources():
            print(f"wrote {path}")
    try:
        footage = build_demo(args.out, force=args.force)
    except PhotoError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    state = "reused" if footage.reused else "built"
    print(f"{state}: {footage.video}")
    print(f"scene: {footage.scene}")
    print(f"ground truth: {footage.ground_truth}")
    return 0


def add_build_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("build", help="compose demo.mp4 from real photographs (reuses a finished build)",
                       description="Compose the demo footage and copy scene.yaml and ground_truth.yaml beside it.")
    p.add_argument("--out", type=Path, default=None, help="output folder (default samples/demo/build)")
    p.add_argument("--force", action="store_true", help="rebuild even when a finished build matches the recipe")
    p.add_argument("--write-sources", action="store_true",
                   help="also regenerate samples/demo/scene.yaml and ground_truth.yaml from the recipe")
    p.set_defaults(func=_build)
    return p


def _run(args: argparse.Namespace) -> int:
    from civicwatch.demo import PhotoError
    from civicwatch.demo.run import run_demo

    try:
        return run_demo(args.host, args.port, args.data_dir)
    except PhotoError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2


# Same value as ``civicwatch.demo.run.DEFAULT_DATA_DIR`` (checked by a test); not imported from
# there because that module loads PyAV and OpenCV, and ``civicwatch --help`` should not.
DEFAULT_DATA_DIR = Path("var") / "demo"


def add_run_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="build the demo, analyse it in the service and serve the review UI",
                       description="Start the service on SQLite and local files, create the demo users and "
                                   "camera through the API, upload the demo footage as the operator, wait for "
                                   "the analysis, and keep serving.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                   help=f"database, uploads and evidence (default {DEFAULT_DATA_DIR})")
    p.set_defaults(func=_run)
    return p


DEMO_COMMANDS = [add_build_parser, add_run_parser]


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help="demo footage with planted violations",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="demo_command", required=True)
    for add in DEMO_COMMANDS:
        add(sub)
    return parser
