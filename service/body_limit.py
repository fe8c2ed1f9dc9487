"""A cap on the request bodies routes read whole, before anything reads them.

FastAPI reads a JSON body into memory, and parses it, before the route's dependencies run: a
login, a case decision or any write route would take a body of any size from anyone, signed in
or not, and a few large ones exhaust the memory the job worker shares. Bodies are therefore
capped (413 ``too_large``): JSON at ``JSON_BODY_MAX``, the camera forms (a scene and a reference
image) at ``FORM_BODY_MAX``. The footage routes are left alone: they stream to disk and enforce
the configured ``max_upload_bytes`` themselves (``service.multipart_stream``, upload sessions).
"""

from __future__ import annotations

import re

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import STATUS_DESCRIPTIONS

JSON_BODY_MAX = 8 * 1024 * 1024  # a scene document of 1 MiB written with \uXXXX escapes fits
FORM_BODY_MAX = 64 * 1024 * 1024  # a camera form: a 50 MiB reference image and a 1 MiB scene
STREAMED = (("POST", re.compile(r"^/api/uploads/?$")), ("PATCH", re.compile(r"^/api/uploads/sessions/[^/]+/?$")))
FORMS = (("POST", re.compile(r"^/api/cameras/?$")), ("PUT", re.compile(r"^/api/cameras/[^/]+(/reference)?/?$")))
READS_NO_BODY = ("GET", "HEAD", "OPTIONS")


def body_limit(method: str, path: str) -> int | None:
    """The most bytes a request's body may have; None for the streamed footage routes."""
    if method in READS_NO_BODY:
        return None
    if any(method == m and rx.match(path) for m, rx in STREAMED):
        return None
    if any(method == m and rx.match(path) for m, rx in FORMS):
        return FORM_BODY_MAX
    return JSON_BODY_MAX


def _message(limit: int) -> str:
    return f"request body larger than {limit} bytes, the most this route takes"


class BodyLimitMiddleware:
    """Pure ASGI: a declared ``Content-Length`` over the cap is refused before a byte is read; a
    body without one (chunked) is counted as the route reads it and refused once past the cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": _message(limit), "code": "too_large", "limit_bytes": limit}, 413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # an HTTPException passes FastAPI's body reading unchanged: the app's handler answers
                    raise HTTPException(413, _message(limit))
            return message

        await self.app(scope, counted, send)


def document(app: FastAPI) -> None:
    """Every write may answer 413 (its body past the cap): say so in the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = build()
            too_large = {"description": STATUS_DESCRIPTIONS[413],
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            for operations in spec.get("paths", {}).values():
                for method, op in operations.items():
                    if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                        op.setdefault("responses", {}).setdefault("413", too_large)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
