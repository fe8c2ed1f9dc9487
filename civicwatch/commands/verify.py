"""``civicwatch verify DIR``: re-hash an analysis output folder against its manifest.

Exit 0 when every listed file is intact, 1 naming each changed or missing file, 2 when the folder
has no readable manifest (nothing to verify against).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detector.evidence.manifest import verify_report


def run(args: argparse.Namespace) -> int:
    result = verify_report(Path(args.dir), source=args.source, strict=args.strict)
    if result.manifest_error:
        print(f"ERROR: {args.dir}: {result.manifest_error}", file=sys.stderr)
        return 2
    if result.problems:
        for problem in result.problems:
            print(f"FAIL: {problem}")
        print(f"{len(result.problems)} problem(s) in {result.files_checked} file(s) checked")
        return 1
    print(f"OK: {result.files_checked} files verified")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("verify", help="check an analysis output folder against its manifest",
                                   description="Re-hash an analysis output folder against its manifest.json.")
    parser.add_argument("dir", metavar="DIR", help="output folder holding manifest.json")
    parser.add_argument("--source", type=Path, default=None, help="also check this source video's hash")
    parser.add_argument("--strict", action="store_true", help="also report files the manifest does not list")
    parser.set_defaults(func=run)
    return parser
