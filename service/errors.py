"""JSON errors for every failure: malformed input gets a 4xx that says what is wrong, and an
unexpected failure a 500 without a stack trace in the body.

Every error body has one shape, :class:`ErrorBody` (``detail``: a sentence, ``code``: a stable
machine code, ``errors``: one entry per field for a 422), and the OpenAPI document says so:
routes declare the statuses they answer with :func:`responses`, so the schema names the 422 the
handlers below really send instead of FastAPI's default (whose ``detail`` is an array).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from detector.scene import SceneError
from service.faults import classify
from service.http_security import security_headers

log = logging.getLogger(__name__)


class RedactionStopped(RuntimeError):
    """The service is stopping: the redaction was given up part-way (nothing is kept; the media
    are made again when the case is published, see ``service.publication``).

    Redacting a clip takes 10-20 s of both cores; a worker thread still inside onnxruntime when
    the interpreter exits aborts the whole process ("terminate called without an active
    exception"), so the redaction stops at the next frame instead of running on past shutdown.
    """


# Stable machine-readable ``code`` per status when the raiser gave none; the pages translate codes.
DEFAULT_CODES = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media",
                 416: "range_not_satisfiable", 422: "invalid_input", 500: "internal_error", 503: "unavailable",
                 507: "storage_full"}


# What each status means in this API, for the OpenAPI document.
STATUS_DESCRIPTIONS = {
    400: "Malformed request (a multipart body or header that cannot be parsed)",
    401: "Not signed in, or the API token is invalid or revoked",
    403: "Signed in with a role that may not do this, or a cross-site request (no matching Origin)",
    404: "No such object (or not one the caller may see)",
    409: "The object's state does not allow this now (see `code`)",
    413: "The body or a file in it is larger than allowed",
    415: "The body's media type (or a file's content) is not the one expected",
    416: "The Range header asks for bytes the file does not have",
    422: "Invalid input: `detail` says what, `errors` lists the fields for request-format problems",
    429: "Too many failed logins from here; see `Retry-After`",
    503: "The database is unreachable or a needed component is unavailable; retry later",
    507: "The data folder's disk is full; retry later",
}


class FieldError(BaseModel):
    """One problem with one field: ``loc`` the path to it, ``msg`` what is wrong, ``type`` its kind."""

    model_config = ConfigDict(extra="allow")  # scene errors add ``field`` (the path as written) and ``ctx``

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error response of the API. Some codes add fields the client can act on (``state``,
    ``offset``, ``problems``, ``retry_after_s``, ...), hence the open shape."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what is wrong, in English, naming the field or object")
    code: str = Field(description="a stable machine code, e.g. `invalid_input`, `invalid_transition`")
    errors: list[FieldError] | None = Field(
        default=None, description="422 only: one entry per invalid field (request validation, scene documents)")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route (or router) that may answer with these error statuses."""
    return {status: {"model": ErrorBody, "description": STATUS_DESCRIPTIONS[status]} for status in statuses}


# Every route: a NUL in any path or query value is a 422 (``reject_nul_in_url``), and a full disk or
# an unreachable database is a 507 / 503 wherever it happens (``service.faults``).
EVERY_ROUTE = responses(422, 503, 507)


class ApiError(Exception):
    """An error with a message (``detail``) and extra fields the client can act on."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra


def _loc(loc: tuple) -> str:
    if loc[:1] == ("body",) and len(loc) == 1:
        return "body"
    return ".".join(str(p) for p in loc if p != "body") or "request"


def _field_error(e: dict) -> dict[str, Any]:
    """A pydantic / FastAPI validation error as a ``FieldError``. A body that is not JSON says why
    and where ("body: not valid JSON: Expecting value at character 0"), not "0: JSON decode error"."""
    loc, msg, kind = list(e.get("loc", ())), e.get("msg", ""), e.get("type", "")
    if kind == "json_invalid":
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        loc, msg = ["body"], f"not valid JSON: {(e.get('ctx') or {}).get('error', msg)}{at}"
    return {"loc": loc, "msg": msg, "type": kind}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        extra = dict(exc.extra)
        code = extra.pop("code", None) or DEFAULT_CODES.get(exc.status, "error")
        return JSONResponse({"detail": exc.detail, "code": code, **jsonable_encoder(extra)}, exc.status,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        message = "; ".join(f"{_loc(tuple(e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
        return JSONResponse({"detail": message, "code": "invalid_input", "errors": errors}, 422)

    @app.exception_handler(SceneError)
    async def _scene(request: Request, exc: SceneError) -> JSONResponse:
        # ``errors``: one entry per field (path, message, kind) for an editor to show in place
        return JSONResponse({"detail": str(exc), "code": "bad_scene", "errors": jsonable_encoder(exc.errors)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "There was an error parsing the body" for a JSON body that is not UTF-8:
            # the same 422 as any other body that is not JSON, saying what is wrong with it
            message = f"not valid JSON: not UTF-8 text ({exc.__cause__.reason} at byte {exc.__cause__.start})"
            errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
            return JSONResponse({"detail": f"body: {message}", "code": "invalid_input", "errors": errors}, 422)
        code = DEFAULT_CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), **allow_header(request)}
        return JSONResponse({"detail": exc.detail, "code": code}, exc.status_code, headers=headers)

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
        # Starlette answers an unhandled exception from its outermost layer, outside the middleware
        # that adds the security headers (service.http_security): the 500 carries them itself.
        headers = {k.decode(): v.decode() for k, v in security_headers(request.url.path)}
        return JSONResponse({"detail": f"internal server error ({type(exc).__name__})", "code": "internal_error"}, 500,
                            headers=headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_header(request: Request) -> dict[str, str]:
    """``Allow`` for a 405: every method some route of the app takes at this path.

    Why: the router answers 405 from the first route whose path matches and lists only that
    route's methods, so ``POST /api/cameras/x`` said ``Allow: PUT`` although GET, PATCH and DELETE
    are served there too. Mounted apps (static files) are left out: they answer their own 405.
    """
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    # a fresh scope: the request's own carries what the router put there for the route it matched
    probe = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", ""),
             "headers": [], "query_string": b""}
    allowed = [m for m in METHODS if any(r.matches({**probe, "method": m})[0] == Match.FULL for r in routes)]
    return {"Allow": ", ".join(allowed)} if allowed else {}
