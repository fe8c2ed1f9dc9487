"""``civicwatch render``: make ``annotated.mp4`` for cases of an analysis, on demand.

The analysis writes the original clip and a per-case track file; the burnt-in copy is made only
when someone needs it (an export to a system that cannot draw the overlay, a court bundle). It is
kept beside the clip and never overwritten; its SHA-256 is printed for the record.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render annotated.mp4 for cases of an analysis (from clip.mp4 + tracks.json)")
    p.add_argument("folder", type=Path, help="an analysis output folder, or one case folder")
    p.add_argument("--case", action="append", default=[], metavar="ID", help="only this case (repeatable)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def _case_dirs(folder: Path, wanted: list[str]) -> list[Path]:
    if (folder / "tracks.json").is_file() or (folder / "case.json").is_file():
        # one case folder: a --case naming another was dropped and this one rendered instead
        other = sorted(set(wanted) - {folder.name})
        if other:
            raise FileNotFoundError(f"{folder} is the case folder of {folder.name}, not of {', '.join(other)}; "
                                    "give the analysis folder to choose cases with --case")
        return [folder]
    dirs = sorted(p for p in (folder / "cases").glob("*") if p.is_dir() and not p.name.startswith("."))
    if wanted:
        missing = sorted(set(wanted) - {p.name for p in dirs})
        if missing:
            raise FileNotFoundError(f"no such case in {folder}: {', '.join(missing)}")
        dirs = [p for p in dirs if p.name in set(wanted)]
    return dirs


def run(args: argparse.Namespace) -> int:
    from detector.evidence.casetrack import CaseTrackError
    from detector.decode import VideoOpenError
    from detector.evidence.clips import ClipError
    from detector.evidence.render import render_annotated

    if not args.folder.is_dir():  # else "holds no case folders" for a typo or a file
        problem = f"{args.folder} is a file, not a folder" if args.folder.exists() else f"{args.folder}: no such folder"
        print(f"error: {problem}; give an analysis output folder or one case folder", file=sys.stderr)
        return 2
    try:
        dirs = _case_dirs(args.folder, args.case)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not dirs:
        print(f"error: {args.folder} holds no case folders", file=sys.stderr)
        return 2
    results, failed = [], 0
    for case_dir in dirs:
        try:
            made = render_annotated(case_dir)
        except (CaseTrackError, ClipError, VideoOpenError, OSError) as err:
            print(f"error: {case_dir.name}: {err}", file=sys.stderr)
            failed += 1
            continue
        results.append({"case": case_dir.name, "path": str(made.path), "sha256": made.sha256, "reused": made.reused})
        if not args.json:
            state = "kept" if made.reused else f"rendered {made.frames} frames"
            print(f"{case_dir.name}: {state}: {made.path} sha256 {made.sha256}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0
