"""JSON errors for every failure: malformed input gets a 4xx that says what is wrong, and an
unexpected failure a 500 without a stack trace in the body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from detector.scene import SceneError
from service.faults import classify

log = logging.getLogger(__name__)


# Stable machine-readable ``code`` per status when the raiser gave none; the pages translate codes.
DEFAULT_CODES = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media",
                 416: "range_not_satisfiable", 422: "invalid_input", 500: "internal_error", 503: "unavailable",
                 507: "storage_full"}


class ApiError(Exception):
    """An error with a message (``detail``) and extra fields the client can act on."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        extra = dict(exc.extra)
        code = extra.pop("code", None) or DEFAULT_CODES.get(exc.status, "error")
        return JSONResponse({"detail": exc.detail, "code": code, **jsonable_encoder(extra)}, exc.status,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        message = "; ".join(f"{_loc(tuple(e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
        return JSONResponse({"detail": message, "code": "invalid_input", "errors": errors}, 422)

    @app.exception_handler(SceneError)
    async def _scene(request: Request, exc: SceneError) -> JSONResponse:
        # ``errors``: one entry per field (path, message, kind) for an editor to show in place
        return JSONResponse({"detail": str(exc), "code": "bad_scene", "errors": jsonable_encoder(exc.errors)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = DEFAULT_CODES.get(exc.status_code, "error")
        return JSONResponse({"detail": exc.detail, "code": code}, exc.status_code, headers=getattr(exc, "headers", None))

    async def _fault(request: Request, exc: Exception) -> JSONResponse:
        fault = classify(exc)  # full disk (507) or database away (503): say so, not "500"
        if fault is None:
            return await _unexpected(request, exc)
        status, code, message = fault
        log.error("%s on %s %s: %s", code, request.method, request.url.path, exc)
        return JSONResponse({"detail": message, "code": code}, status, headers={"Retry-After": "60"})

    app.add_exception_handler(OSError, _fault)
    app.add_exception_handler(SQLAlchemyError, _fault)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal server error ({type(exc).__name__})", "code": "internal_error"}, 500)
