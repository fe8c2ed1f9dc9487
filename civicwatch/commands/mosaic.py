"""``civicwatch mosaic``: lay a drone flight along a road out as one image to draw its zones on.

A flight along a road sees new ground in every frame, so no single reference image holds its
zones. This registers the flight frame to frame (``detector.mosaic``) and writes ``mosaic.jpg``
(draw the zones on it: its size is the scene's ``frame_size``) and ``mosaic.json`` (every frame's
transform into it, read by the analysis; name it in the scene's ``mosaic`` field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from civicwatch.commands import analysis_fps_problem, finite_float


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mosaic", help="register a drone flight along a road into one mosaic image (draw its zones there)")
    p.add_argument("video", type=Path, help="the flight video")
    p.add_argument("--out", type=Path, required=True, help="folder for mosaic.jpg and mosaic.json")
    p.add_argument("--analysis-fps", type=finite_float, default=10.0,
                   help="frames a second to register; the analysis must use the same rate (default 10)")
    p.add_argument("--until", type=finite_float, default=None, metavar="S", help="only the flight's first S seconds")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from detector.decode import VideoOpenError
    from detector.mosaic import MosaicError, build_mosaic
    from detector.pipeline import OutputFolderError, check_writable_folder

    if (problem := analysis_fps_problem(args.analysis_fps)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.until is not None and args.until <= 0:
        # no frame before it: the chain never started, and the message blamed the footage's texture
        print("error: --until must be a positive number of seconds (the flight's first S seconds)", file=sys.stderr)
        return 2
    if (args.out / "mosaic.json").exists():
        print(f"error: {args.out} already holds a mosaic; choose a new folder", file=sys.stderr)
        return 2
    try:
        check_writable_folder(args.out)
    except OutputFolderError as err:
        print(f"error: output: {err}", file=sys.stderr)
        return 2
    try:
        mosaic = build_mosaic(args.video, args.out, args.analysis_fps, until_s=args.until)
    except VideoOpenError as err:
        print(f"error: video: {err}", file=sys.stderr)
        return 2
    except MosaicError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = mosaic.to_dict()
    summary.pop("frames")
    unregistered = [f.t for f in mosaic.frames if f.homography is None]
    summary["unregistered_at_s"] = unregistered
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        w, h = mosaic.size
        print(f"{args.out / mosaic.image}: {w}x{h} px from {summary['registered']} of {summary['frames_total']} frames "
              f"at {mosaic.analysis_fps:g}/s; draw the zones on it and give the scene\n"
              f"  kind: drone\n  frame_size: [{w}, {h}]\n  mosaic: {args.out / 'mosaic.json'}  # relative to the scene file")
        if unregistered:
            print(f"warning: {len(unregistered)} frame(s) could not be chained (no cases there): "
                  + ", ".join(f"{t:.1f} s" for t in unregistered[:10]), file=sys.stderr)
    return 0
