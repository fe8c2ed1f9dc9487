"""``civicwatch worker``: a worker of the pool that analyses uploads (runner "celery").

Runs on any machine that reaches the broker (``CIVICWATCH_BROKER_URL``), the database
(``DATABASE_URL``, PostgreSQL: SQLite is one machine's file) and the evidence storage (the shared
data folder ``CIVICWATCH_DATA_DIR``, or the S3 bucket of ``CIVICWATCH_STORAGE=s3``). Settings are
the service's (``CIVICWATCH_*`` environment or ``CIVICWATCH_CONFIG`` file).
"""

from __future__ import annotations

import argparse
import logging

from civicwatch.commands import refuse


def add_parser(subparsers) -> None:  # noqa: ANN001
    p = subparsers.add_parser("worker", help="run a worker of the analysis pool (Celery on Redis; settings as for serve)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="tasks at once (default 1: the pipeline already uses every core; >1 runs threads)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="Prometheus metrics port (default CIVICWATCH_WORKER_METRICS_PORT, 9540; 0 = none)")
    p.add_argument("--name", default=None, help="worker name in logs and metrics (default host:pid)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="how much the worker logs (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from service.config import Settings, settings_error_text

    try:
        settings = Settings()
    except (ValidationError, ValueError) as err:
        return refuse("worker", f"bad settings: {settings_error_text(err)}")
    if args.concurrency < 1:
        return refuse("worker", "--concurrency must be at least 1")
    if args.metrics_port is not None and not 0 <= args.metrics_port < 65536:
        return refuse("worker", "--metrics-port must be 0 (none) to 65535")
    from service.startup_checks import cannot_start

    why = cannot_start(settings)  # a data folder it cannot write, a database that does not answer
    if why is not None:
        return refuse("worker", why)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from service.jobs.worker import MetricsPortError, PoolWorker, SchemaMissing

    worker = PoolWorker(settings, name=args.name)
    try:
        worker.run(concurrency=args.concurrency, loglevel=args.log_level.upper(), metrics_port=args.metrics_port)
    except (SchemaMissing, MetricsPortError) as err:
        return refuse("worker", f"{err}")
    return 0
