"""``civicwatch serve``: run the review service (API, pages, in-process job worker)."""

from __future__ import annotations

import argparse

from civicwatch.commands import cannot_listen, port_number, refuse


def add_parser(subparsers) -> None:  # noqa: ANN001
    p = subparsers.add_parser("serve", help="run the review service (settings: CIVICWATCH_* env or CIVICWATCH_CONFIG file)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="how much the server logs (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from service.config import Settings, settings_error_text
    from service.main import create_app
    from service.startup_checks import cannot_start

    try:
        settings = Settings()
    except (ValidationError, ValueError) as err:
        return refuse("serve", f"bad settings: {settings_error_text(err)}")
    why = cannot_listen(args.host, args.port)
    if why is not None:
        return refuse("serve", why)
    why = cannot_start(settings)  # a data folder it cannot write, a database that does not answer
    if why is not None:
        return refuse("serve", why)
    app = create_app(settings)
    # One process: the job worker is a thread inside it, and SQLite wants a single writer process.
    # proxy_headers off: uvicorn's own handling believes X-Forwarded-For from any peer on 127.0.0.1
    # (a local proxy passing the client's header on), whatever ``trust_forwarded_for`` says; the
    # setting alone decides (service.audit.client_ip), for the login limit and the audit log.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, workers=1, proxy_headers=False)
    return 0
