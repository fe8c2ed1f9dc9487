"""The metrics token (setting ``metrics_token``) for both places that serve Prometheus metrics:
the service's ``GET /metrics`` and a ``civicwatch worker``'s own metrics port.

One check for both, so a token set to keep camera names and queue figures off a shared network
does not leave the worker's port open beside it.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

REFUSAL = "metrics: send the metrics token as 'Authorization: Bearer <token>'"


def bearer_ok(authorization: str | None, token: str) -> bool:
    """``authorization`` (the header's value) carries ``token`` as a bearer token."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # a scrape every few seconds is not worth a log line


def serve_metrics(port: int, registry, token: str | None, addr: str = "0.0.0.0") -> None:  # noqa: ANN001
    """Serve ``registry`` on ``addr:port`` from a daemon thread (``OSError`` when the port is
    taken); with ``token``, a request without it gets 401 and no figures."""
    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    app = make_wsgi_app(registry)

    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if token is not None and not bearer_ok(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer"), ("Content-Type", "text/plain")])
            return [REFUSAL.encode() + b"\n"]
        return app(environ, start_response)

    class Server(ThreadingWSGIServer):
        """IPv4 by default; the family of ``addr`` here (``worker_metrics_host`` may be IPv6)."""

    Server.address_family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server = make_server(addr, port, guarded, Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="civicwatch-metrics", daemon=True).start()
