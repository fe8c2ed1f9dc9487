"""The sub-commands of ``civicwatch`` (one module each) and what their parsers share."""

from __future__ import annotations

import argparse
import errno
import math
import socket
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


def score(text: str) -> float:
    """An argparse ``type``: a detector score threshold, above 0 and at most 1. Detectors score
    0-1, so ``--conf 2`` kept no box and ``--conf -0.1`` every one: an analysis that ran to the
    end and found nothing (or noise) instead of a message naming the option."""
    value = finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is not a score: detector scores are above 0 and at most 1")
    return value


def port_number(text: str) -> int:
    """An argparse ``type``: a TCP port, 0 to 65535 (0: any free one). Checked at parse time so
    the message names the option (``argument --port: ...``) for every command that listens."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a port: a port is 0 to 65535")
    return value


# The analysis rate a command accepts: below one frame in ten seconds no rule can follow
# anything; far above any camera's rate the decoder's analysis grid (steps added to the next
# analysis time) stops moving and the run never ends (--analysis-fps 1e300 hung it).
MIN_ANALYSIS_FPS = 0.1
MAX_ANALYSIS_FPS = 1000.0


def analysis_fps_problem(value: float) -> str | None:
    """What is wrong with an ``--analysis-fps`` value, or None."""
    if MIN_ANALYSIS_FPS <= value <= MAX_ANALYSIS_FPS:
        return None
    return (f"--analysis-fps must be between {MIN_ANALYSIS_FPS:g} and {MAX_ANALYSIS_FPS:g} (got {value:g}); "
            "above the video's own frame rate every frame is analysed")


def refuse(command: str, message: str, code: int = 2) -> int:
    """Say why ``civicwatch COMMAND`` will not run, on stderr, and give its exit code.

    On stderr because stdout is the command's output: ``record`` prints one JSON line per
    segment there, and a log collector or a script reading it must not get an error line."""
    print(f"civicwatch {command}: {message}", file=sys.stderr)
    return code


def cannot_listen(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` (taken, not an address of this machine, a
    name that does not resolve), or None when it can.

    Checked by binding and closing a socket for each address ``host`` resolves to, before the
    server (uvicorn) starts: uvicorn reports a taken port as a log line and an exit code 3, and
    from a thread (``civicwatch demo``) as a traceback, after the app was built."""
    if not 0 <= port < 65536:  # getaddrinfo would wrap it round
        return f"cannot listen on port {port}: a port is 0 to 65535"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, OverflowError) as err:
        return f"cannot listen on {host}:{port}: {getattr(err, 'strerror', None) or err}"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn (asyncio) binds
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as err:
                hint = ("another service is on that port: choose another with --port" if err.errno == errno.EADDRINUSE
                        else "--host must be an address of this machine, or 0.0.0.0 for all")
                return f"cannot listen on {host}:{port}: {err.strerror or err} ({hint})"
    return None
