"""``civicwatch record``: record a live camera stream to disk by stream copy, in segments.

Without ``--camera`` it only records (segments and ``index.jsonl`` in ``--out``). With
``--camera ID`` it also registers every segment and gap with the service's database (settings as
for ``civicwatch serve``: ``DATABASE_URL``, ``CIVICWATCH_DATA_DIR``), so each finished segment
becomes an analysis job for that camera; the URL then defaults to the camera's stream URL and
the folder to ``<data_dir>/live/<camera>/segments``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import threading
from pathlib import Path

from civicwatch.commands import refuse


def add_parser(subparsers) -> None:  # noqa: ANN001
    p = subparsers.add_parser("record", help="record a live stream (RTSP; also RTMP, HTTP-FLV, HLS) in segments, never decoding")
    p.add_argument("--url", help="the stream (default with --camera: the camera's stream URL)")
    p.add_argument("--out", type=Path, help="folder for the segments (default with --camera: data_dir/live/ID/segments)")
    p.add_argument("--segment-s", type=float, default=None, help="segment length in seconds, cut at the next "
                   "keyframe (default 60, or the service's live_segment_s with --camera)")
    p.add_argument("--camera", help="register segments and gaps with the service for this camera id")
    p.add_argument("--read-timeout-s", type=float, default=10.0,
                   help="no packet this long = the stream dropped (default 10)")
    p.add_argument("--backoff-max-s", type=float, default=30.0, help="longest wait between reconnects (default 30)")
    p.set_defaults(func=run)


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


def _out_problem(out: Path) -> str | None:
    """Why the segments cannot go to ``out`` (a file there or above it, no permission), made here;
    None when they can. Checked before the stream is opened: the recorder's own mkdir raised a
    traceback."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"--out {out} is a file, not a folder; give a folder for the segments"
    except OSError as err:
        return f"--out {out}: cannot make the folder for the segments ({err.strerror}); choose another --out"
    if not os.access(out, os.W_OK | os.X_OK):  # else the recorder's lock file raised a traceback
        return f"--out {out}: no permission to write in it; choose another --out"
    return None


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the migration check at start says nothing useful
    if args.segment_s is not None and not (math.isfinite(args.segment_s) and args.segment_s >= 1):
        return refuse("record", "--segment-s must be at least 1")
    for name in ("read_timeout_s", "backoff_max_s"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            return refuse("record", f"--{name.replace('_', '-')} must be a positive number of seconds")
    from detector.media.recorder import stream_url_problem

    if args.url is not None and (problem := stream_url_problem(args.url)):
        return refuse("record", f"--url: not a stream URL: {problem}")
    timing = {"read_timeout_s": args.read_timeout_s, "backoff_max_s": args.backoff_max_s}
    if args.camera:
        return _registered(args, timing)
    if not args.url or not args.out:
        return refuse("record", "give --url and --out (or --camera ID to record for the service)")
    if (problem := _out_problem(args.out)) is not None:
        return refuse("record", problem)
    from detector.media.recorder import Recorder, RecorderBusy, RecorderConfig

    recorder = Recorder(RecorderConfig(args.url, args.out, args.segment_s or 60.0, **timing),
                        on_segment=lambda s: print(json.dumps(s.to_json()), flush=True),
                        on_gap=lambda g: print(json.dumps(g.to_json()), flush=True))
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        recorder.run(stop)
    except RecorderBusy as err:
        return refuse("record", str(err))
    return 0


def _registered(args: argparse.Namespace, timing: dict) -> int:
    from pydantic import ValidationError

    from service.config import Settings, settings_error_text
    from service.db import make_engine, make_session_factory, migrate
    from service.live.recorders import CameraRecorder
    from service.models import Camera

    try:
        settings = Settings()
    except (ValidationError, ValueError) as err:
        return refuse("record", f"bad settings: {settings_error_text(err)}")
    from service.startup_checks import cannot_start

    why = cannot_start(settings)  # a data folder it cannot write, a database that does not answer
    if why is not None:
        return refuse("record", why)
    engine = make_engine(settings)
    settings.ensure_dirs()
    migrate(settings, engine)
    factory = make_session_factory(engine)
    with factory() as db:
        cam = db.get(Camera, args.camera)
        if cam is None or cam.retired_at is not None:
            return refuse("record", f"no camera {args.camera!r} in service")
        url = args.url or cam.stream_url
    if not url:
        return refuse("record", f"camera {args.camera!r} has no stream URL; give --url")
    from detector.media.recorder import masked_url, stream_url_problem

    # --url was checked above; a URL stored before the API checked it (or written around the API)
    # gets the same check here, instead of a recorder that retries a URL it can never open.
    if args.url is None and (problem := stream_url_problem(url)):
        return refuse("record", f"camera {args.camera!r}: its stored stream URL {masked_url(url)!r} is not a "
                                f"stream URL: {problem}; set it again (PUT /api/cameras/{args.camera}/stream) or give --url")
    out = args.out
    if out is not None and not out.resolve().is_relative_to(settings.data_dir.resolve()):
        return refuse("record", f"--out must lie inside the data folder {settings.data_dir} (paths are stored relative to it)")
    if out is not None and (problem := _out_problem(out)) is not None:
        return refuse("record", problem)
    from service.jobs.celery_runner import job_publisher

    # runner "celery": each segment's job is published to the worker pool at once
    rec = CameraRecorder(factory, settings, args.camera, url, out_dir=out, segment_s=args.segment_s,
                         on_jobs=job_publisher(settings), **timing)
    _stop_on_signals(rec.stop_event)
    from detector.media.recorder import RecorderBusy

    try:
        rec.run_forever()
    except RecorderBusy as err:
        return refuse("record", f"camera {args.camera!r}: {err}")
    finally:
        engine.dispose()
    return 0
