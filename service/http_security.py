"""Browser-facing protections applied to every request: a cross-site request check and security headers.

Why an Origin check and not a CSRF token: the pages are plain scripts that call the JSON API with
``fetch``, and every browser in use sends ``Origin`` on a POST/PUT/PATCH/DELETE (a form POST from
a foreign site included). Comparing it with the service's own origin stops a foreign page from
riding on the reviewer's session cookie (SameSite=Lax alone lets top-level form POSTs from
same-site subdomains and some older browsers through) without adding state to every page.
Requests carrying ``Authorization: Bearer`` are exempt: a browser never attaches that header on
its own, so a foreign page cannot forge one.

The headers keep the pages from being framed (``/review`` in a hidden frame pressing A), from
running injected inline script (CSP ``script-src 'self'``: the pages load their scripts from
``/static`` only), from MIME sniffing, and from leaking URLs (which may carry tokens) to other
sites. ``Referrer-Policy: same-origin`` rather than ``no-referrer``: with ``no-referrer`` browsers
send ``Origin: null`` on same-origin POSTs, which the Origin check would then have to refuse.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "cw_session"
LOGIN_PATH = "/api/auth/login"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
       "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI / ReDoc pages are generated with an inline bootstrap script; they show the API's own
# schema only, so they may run inline script, but they still load nothing from other hosts.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")

STATIC_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case with the default port dropped; None if not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _has_session_cookie(cookie_header: str) -> bool:
    return any(part.strip().split("=", 1)[0] == SESSION_COOKIE for part in cookie_header.split(";"))


def own_origin(scope: Scope, headers: dict[str, str]) -> str | None:
    """The origin the browser used to reach this service, as far as this process can see it."""
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        if not server:
            return None
        host = f"{server[0]}:{server[1]}"
    return normalize_origin(f"{scope.get('scheme', 'http')}://{host}")


def cross_site_refusal(scope: Scope, allowed: frozenset[str]) -> str | None:
    """Why this request must be refused as a possible cross-site request, or None to let it in."""
    if scope.get("method", "GET").upper() not in UNSAFE_METHODS:
        return None
    headers = _headers(scope)
    if "authorization" in headers:
        return None  # API token (or a malformed header the auth layer answers with 401)
    with_cookie = _has_session_cookie(headers.get("cookie", ""))
    is_login = scope.get("path") == LOGIN_PATH
    if not with_cookie and not is_login:
        return None  # nothing to ride on: the route answers 401 itself
    claimed = headers.get("origin")
    source = "Origin"
    if claimed is None and headers.get("referer"):
        claimed, source = headers["referer"], "Referer"
    if claimed is None:
        if is_login and not with_cookie:
            return None  # a script or CLI logging in; browsers always send Origin on a POST
        return "a request made with the session cookie must carry an Origin or Referer header"
    origin = normalize_origin(claimed) if claimed != "null" else None
    ok = {o for o in (own_origin(scope, headers),) if o} | allowed
    if origin is None or origin not in ok:
        return f"cross-site request refused: {source} {claimed[:200]!r} is not this service's origin"
    return None


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer to ``path`` carries (a route's own value of one of them wins)."""
    csp = DOCS_CSP if path in DOCS_PATHS or path.startswith("/docs/") else CSP
    extra = [*STATIC_HEADERS, (b"content-security-policy", csp.encode())]
    if path.startswith("/api/"):
        # API answers are personal data or live state (a screen's feed, a case a reviewer just
        # withdrew): no cache on the way may keep them. Routes that mean otherwise (evidence
        # with its own validators, thumbnails) set their own Cache-Control, which wins.
        extra.append((b"cache-control", b"no-store"))
    return extra


class SecurityMiddleware:
    """Pure ASGI (no response buffering, so streamed downloads and range requests are untouched)."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str] | tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o for o in (normalize_origin(x) for x in allowed_origins) if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in present]
            await send(message)

        reason = cross_site_refusal(scope, self.allowed)
        if reason is not None:
            body = json.dumps({"detail": reason, "code": "cross_site_request"}).encode()
            await send_with_headers({"type": "http.response.start", "status": 403, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_headers)
