"""An HTML "page not found" for people, JSON for programs.

Why: a reviewer who follows a stale bookmark or mistypes an address got ``{"detail":"Not Found"}``,
which reads as a broken service. A browser navigation (``Accept`` names ``text/html``) to an unknown
page now gets a page in the reader's language, with the other language beneath it and a way home;
anything under ``/api/`` keeps the JSON error the API promises, whatever the ``Accept`` header.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from . import i18n
from .pages import _render, request_language

JSON_PREFIXES = ("/api/", "/docs-assets/", "/openapi.json", "/metrics", "/healthz")


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path == "/api" or path.startswith(JSON_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


def page(request: Request) -> Response:
    lang = request_language(request)
    other_lang = next(code for code in i18n.LANGUAGES if code != lang)

    def other(key: str, **params: object) -> str:
        return i18n.translate(other_lang, key, **params)

    response = _render(request, "404.html", "notfound", path=request.url.path[:200], other_lang=other_lang,
                       other=other)
    response.status_code = 404
    return response


def install(app: FastAPI) -> None:
    """Wrap the app's HTTP error handler (``service.errors``): 404s for browsers become the page."""
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def handler(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.method in ("GET", "HEAD") and wants_html(request):
            return page(request)
        return await json_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)
