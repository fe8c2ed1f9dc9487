"""``/docs`` (Swagger UI) served with no internet: its JavaScript and CSS come from the
``fastapi-offline`` wheel and are served by the app itself under ``/docs-assets/``; ``/redoc``
redirects there.

Why: FastAPI's own doc pages load Swagger UI and ReDoc from a CDN, so an installation on a closed
police network (or a laptop in the field) shows a blank page, and every visit tells the CDN who is
reading the API. This is FastAPI's documented self-hosting recipe ("Custom Docs UI Static Assets"),
with the files taken from a package instead of downloaded by hand. ``create_app`` turns FastAPI's
CDN pages off (``docs_url=None, redoc_url=None``) and calls :func:`install`.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    def root(request: Request) -> str:
        return request.scope.get("root_path", "")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{base}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{base}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{base}/static/img/logo.svg",
            # no validator badge: it would send the schema's address to validator.swagger.io
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> RedirectResponse:
        """ReDoc's bundle always fetches its vendor's logo from cdn.redoc.ly, so an offline service
        has one documentation page: Swagger UI. Old links to /redoc land there."""
        return RedirectResponse(f"{root(request)}{DOCS_URL}", status_code=307)
