"""HTML pages of the review service: server-rendered shells that small scripts fill from the API.

The pages hold no data themselves: every list and every action goes through the JSON API, which
checks the role. That keeps one place (the API) deciding who may see what, and lets the pages be
rendered without a database session. Each page names the roles it is meant for so the script can
send a person who landed on the wrong page to the right one.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from service.audit_actions import ACTIONS
from service.reject_reasons import REJECT_REASONS, labels
from service.web.build import page_build

from . import i18n

SCREEN_OFFLINE_MAX_S = 300  # the ``screen_offline_max_s`` setting's default, likewise
DEFAULT_TIMEZONE = "Asia/Shanghai"  # the ``timezone`` setting's default, for pages mounted without settings

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))

# Which roles a page is for; the page script redirects anyone else to their own start page.
PAGE_ROLES: dict[str, tuple[str, ...]] = {
    "upload": ("operator", "admin"),
    "jobs": ("operator", "admin", "reviewer"),
    "review": ("reviewer", "admin"),
    "cameras": ("admin", "reviewer", "operator"),
    "camera": ("admin", "reviewer", "operator"),
    "admin": ("admin",),
}


@lru_cache(maxsize=None)
def _asset_version(name: str) -> str:
    """Short content hash so browsers pick up a new script after an upgrade."""
    path = STATIC_DIR / name
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(name: str) -> str:
    return f"/static/{name}?v={_asset_version(name)}"


def request_language(request: Request) -> str:
    """Cookie, then Accept-Language, then the service's ``default_language`` setting."""
    settings = getattr(request.app.state, "settings", None)
    default = getattr(settings, "default_language", None) or i18n.DEFAULT_LANGUAGE
    return i18n.negotiate(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"), default)


def _render(request: Request, template: str, page: str, **context: object) -> HTMLResponse:
    lang = request_language(request)

    def t(key: str, **params: object) -> str:
        return i18n.translate(lang, key, **params)

    # a secret in the query (an old screen bookmark's ?token=) must not be copied into links
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k.lower() not in ("token", "access_token")])
    here = request.url.path + (f"?{query}" if query else "")
    ctx = {
        "request": request,
        "lang": lang,
        "t": t,
        "page": page,
        "page_roles": list(PAGE_ROLES.get(page, ())),
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "lang_href": lambda code: f"/lang/{code}?next={quote(here, safe='')}",
        "static_url": static_url,
        "i18n_json": json.dumps(i18n.catalogue(lang), ensure_ascii=False),
        # every language's label of each reject reason: a reason written as "label: note" before the
        # code was stored, by a reviewer whose page was in the other language, is shown without it
        "reject_labels_json": json.dumps({code: labels(code) for code in REJECT_REASONS}, ensure_ascii=False),
        **context,
    }
    response = templates.TemplateResponse(request, template, ctx)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """A tiny page whose script asks /api/me and goes to the role's start page (or /login)."""
    return _render(request, "home.html", "home")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _render(request, "login.html", "login")


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request) -> HTMLResponse:
    # the server's size limit, so the page refuses a larger file before hashing it (0: unknown, no check)
    settings = getattr(request.app.state, "settings", None)
    return _render(request, "upload.html", "upload", max_upload_bytes=settings.max_upload_bytes if settings else 0)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    return _render(request, "jobs.html", "jobs")


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> HTMLResponse:
    # the undo bar's window is the server's (pages mounted without the service's settings: none)
    settings = getattr(request.app.state, "settings", None)
    return _render(request, "review.html", "review", undo_window_s=settings.undo_window_s if settings else 0)


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(request: Request) -> HTMLResponse:
    return _render(request, "cameras.html", "cameras")


@router.get("/cameras/{camera_id}", response_class=HTMLResponse)
def camera_page(request: Request, camera_id: str) -> HTMLResponse:
    return _render(request, "camera.html", "camera", camera_id=camera_id)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    # the audit filter lists every action in words; dates and times are in the installation's zone
    settings = getattr(request.app.state, "settings", None)
    return _render(request, "admin.html", "admin", audit_actions=ACTIONS,
                   timezone=settings.timezone if settings else DEFAULT_TIMEZONE)


@router.get("/display/{screen}", response_class=HTMLResponse)
def display_page(request: Request, screen: str) -> HTMLResponse:
    # the screen's clock is in the installation's zone (offence times carry their camera's)
    settings = getattr(request.app.state, "settings", None)
    # how long the screen keeps showing cases no poll has confirmed (``screen_offline_max_s``)
    return _render(request, "display.html", "display", screen=screen, page_build=page_build(),
                   timezone=settings.timezone if settings else DEFAULT_TIMEZONE,
                   offline_max_s=getattr(settings, "screen_offline_max_s", SCREEN_OFFLINE_MAX_S))


@router.get("/lang/{code}")
def set_language(code: str, next: str = "/") -> RedirectResponse:
    """The language switch: remember the choice in ``cw_lang`` and go back where the person was."""
    if code not in i18n.LANGUAGES:
        raise HTTPException(status_code=404, detail="unknown language")
    if not next.startswith("/") or next.startswith("//"):
        next = "/"
    response = RedirectResponse(next, status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/static/{name:path}")
def static_file(name: str) -> FileResponse:
    """The pages' own scripts and styles (no CDN: the service must work offline)."""
    root = STATIC_DIR.resolve()
    path = (STATIC_DIR / name).resolve()
    if root not in path.parents or not path.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
