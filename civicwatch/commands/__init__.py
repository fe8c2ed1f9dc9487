"""The sub-commands of ``civicwatch`` (one module each) and what their parsers share."""

from __future__ import annotations

import argparse
import math
import sys


def finite_float(text: str) -> float:
    """An argparse ``type``: a float that is a real number (``nan``/``inf`` would be written into
    JSON that no reader accepts, or fail deep inside the work)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def refuse(command: str, message: str, code: int = 2) -> int:
    """Say why ``civicwatch COMMAND`` will not run, on stderr, and give its exit code.

    On stderr because stdout is the command's output: ``record`` prints one JSON line per
    segment there, and a log collector or a script reading it must not get an error line."""
    print(f"civicwatch {command}: {message}", file=sys.stderr)
    return code
