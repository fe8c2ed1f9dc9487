"""Who is calling: password hashing, login sessions, API tokens, role checks.

Browser logins get a random session token in an HttpOnly cookie; the database keeps only its
HMAC (keyed with the secret key), so a stolen database backup cannot be replayed as a login and
rotating the key logs everyone out. API tokens (drones, screens) are random 256-bit strings stored
as SHA-256: high-entropy secrets need no slow hash, and revocation is one column.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.models import ApiToken, LoginSession, User, utcnow

SESSION_COOKIE = "cw_session"
# A paired exposure screen's display token (``POST /api/public/pair``): HttpOnly, SameSite=Strict,
# so the token is in no URL, log line or script-readable storage. Honoured for display tokens only.
DISPLAY_COOKIE = "cw_display"
# Sent by the exposure screen's page (display.js) on its feed polls and media downloads: "serve me
# as the screen this browser is paired as". Without it, a valid sign-in session in the same
# browser (someone signed in on the kiosk and left it) made the screen a reviewer's or an
# admin's: it showed the cases published to every other screen as well as its own.
SCREEN_PAGE_HEADER = "X-CivicWatch-Screen-Page"
TOKEN_PREFIX = "cwt_"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str, username: str | None = None) -> None:
    """Raise ``service.password_policy.PolicyViolation`` (a ValueError) for an unacceptable password."""
    from service import password_policy

    password_policy.check(password, username)


def authenticate(db: Session, username: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _session_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_login_session(db: Session, user: User, secret_key: str, ttl_s: int, ip: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.execute(delete(LoginSession).where(LoginSession.expires_at < utcnow()))  # housekeeping
    db.add(LoginSession(id_hash=_session_hash(secret_key, token), user_id=user.id,
                        expires_at=utcnow() + timedelta(seconds=ttl_s), ip=ip))
    return token


def end_login_session(db: Session, secret_key: str, token: str) -> None:
    row = db.get(LoginSession, _session_hash(secret_key, token))
    if row is not None:
        db.delete(row)


def new_api_token() -> tuple[str, str]:
    """(plaintext shown once, hash to store)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a logged-in user or an API token."""

    kind: str  # "user" | "token"
    role: str
    name: str
    user_id: int | None = None
    token_id: int | None = None
    screen: str | None = None

    @property
    def actor(self) -> str:
        return self.name if self.kind == "user" else f"token:{self.name}#{self.token_id}"


def principal_from_request(request: Request, db: Session) -> Principal | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, "Authorization header must be 'Bearer <token>'")
        tok = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(value.strip())))
        if tok is None or tok.revoked_at is not None:
            raise HTTPException(401, "invalid or revoked API token")
        now = utcnow()
        if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
            tok.last_used_at = now
            db.commit()
        return Principal("token", tok.role, tok.name, token_id=tok.id, screen=tok.screen)
    paired = request.cookies.get(DISPLAY_COOKIE)
    if paired and request.headers.get(SCREEN_PAGE_HEADER):
        screen = _paired_screen(db, paired)
        if screen is not None:
            return screen
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        secret = request.app.state.secret_key
        # one query for the session and its user: every page and API call of a reviewer asks it
        found = db.execute(select(LoginSession.expires_at, User.id, User.role, User.username, User.active)
                           .join(User, User.id == LoginSession.user_id)
                           .where(LoginSession.id_hash == _session_hash(secret, cookie))).first()
        if found is not None and found.expires_at >= utcnow() and found.active:
            return Principal("user", found.role, found.username, user_id=found.id)
        # A session no longer valid (expired, signed out elsewhere, user deactivated, key changed)
        # is no credential, and hides none: a kiosk browser where someone once signed in, to pair
        # the screen, kept that dead cookie beside its pairing and was refused (401) with it.
    return _paired_screen(db, paired) if paired else None


def _paired_screen(db: Session, paired: str) -> Principal | None:
    """The display token a paired browser keeps in its cookie, while it is valid."""
    tok = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(paired)))
    if tok is None or tok.revoked_at is not None or tok.role != "display":
        return None
    return Principal("token", tok.role, tok.name, token_id=tok.id, screen=tok.screen)


async def get_db(request: Request):
    """The request's session, once a slot is free (``service.db_slots``: more requests holding
    sessions than the pool has connections could deadlock the thread pool)."""
    async with request.app.state.db_slots.slot():
        db = request.app.state.session_factory()
        try:
            yield db
        finally:
            await run_in_threadpool(db.close)  # returns the connection: a ROLLBACK, off the event loop


def optional_principal(request: Request, db: Session = Depends(get_db)) -> Principal | None:
    return principal_from_request(request, db)


# The checks below touch no database or file: ``async`` runs them on the event loop, where a sync
# dependency would cost each request a hop to the thread pool and back.
async def current_principal(principal: Principal | None = Depends(optional_principal)) -> Principal:
    if principal is None:
        raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Bearer"})
    return principal


# The three ways a caller is known (``principal_from_request``), as OpenAPI security schemes: the
# document then says, per route, which of them can reach it, and Swagger UI offers them. They
# never refuse anything themselves (``auto_error=False``); the role checks below do.
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE, scheme_name="session", auto_error=False,
    description="A signed-in user's session, set by POST /api/auth/login (HttpOnly). Requests that "
                "change something must also carry this service's Origin (or Referer).")
token_scheme = HTTPBearer(
    scheme_name="apiToken", bearerFormat="cwt_...", auto_error=False,
    description="An API token (operator: drones and scripts; display: exposure screens), made by an "
                "administrator: 'Authorization: Bearer cwt_...'.")
screen_scheme = APIKeyCookie(
    name=DISPLAY_COOKIE, scheme_name="pairedScreen", auto_error=False,
    description="A display token kept in a cookie by POST /api/public/pair (display tokens only).")
TOKEN_ROLES = frozenset({"operator", "display"})  # the roles API tokens may have (service.api.admin)
ALL_ROLES = ("admin", "reviewer", "operator", "display")


def schemes_for(roles: tuple[str, ...]) -> list:
    """The security schemes by which a caller with one of ``roles`` can arrive."""
    return ([session_scheme] + ([token_scheme] if TOKEN_ROLES & set(roles) else [])
            + ([screen_scheme] if "display" in roles else []))


def require_roles(*roles: str):
    """Dependency factory: 401 for anonymous callers, 403 for callers with another role. The
    dependency also names the security schemes that can carry such a caller (for the OpenAPI
    document only: ``principal_from_request`` reads the credentials)."""

    async def check(principal: Principal, **_schemes: object) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role!r} may not do this (needs {' or '.join(roles)})")
        return principal

    params = [inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=Principal,
                                default=Depends(current_principal))]
    params += [inspect.Parameter(f"_{scheme.scheme_name}", inspect.Parameter.KEYWORD_ONLY, annotation=object,
                                 default=Security(scheme)) for scheme in schemes_for(roles)]
    check.__signature__ = inspect.Signature(params, return_annotation=Principal)  # type: ignore[attr-defined]
    return check


signed_in = require_roles(*ALL_ROLES)  # any role: GET /api/me
