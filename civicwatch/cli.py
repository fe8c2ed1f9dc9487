"""The ``civicwatch`` command: one parser, one module per sub-command under ``civicwatch.commands``.

Each command module exposes ``add_parser(subparsers)`` which registers its sub-parser and sets
``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an exit code.
Exit codes: 0 success, 1 the work ran but found a problem (e.g. ``verify`` mismatch), 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from civicwatch import __version__

COMMAND_MODULES = ["analyze", "verify", "render", "eval", "models", "serve", "users", "demo", "report", "record", "worker", "mosaic"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="civicwatch",
        description="Find civic-order violations in traffic footage, cut evidence, and serve it for review.")
    parser.add_argument("--version", action="version", version=f"civicwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"civicwatch.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"civicwatch.commands.{name}":
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line (the commands' own cleanup has run), not a traceback
        print(f"civicwatch {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
