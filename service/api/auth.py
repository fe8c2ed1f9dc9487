"""Login, logout, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from service import audit, login_throttle
from service.api.common import ApiModel
from service.api.schemas import Me, Ok, SignedIn
from service.errors import ApiError, responses
from service.security import (
    SESSION_COOKIE, Principal, authenticate, create_login_session, end_login_session, get_db, signed_in,
)

router = APIRouter(prefix="/api", tags=["auth"])


class LoginIn(ApiModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/auth/login", response_model=SignedIn, responses=responses(401, 403, 429))
def login(body: LoginIn, request: Request, response: Response, db: Session = Depends(get_db)) -> dict:
    settings = request.app.state.settings
    with login_throttle.attempt_lock(body.username):  # parallel guesses at one name are counted one by one
        wait = login_throttle.retry_after(db, body.username, audit.client_ip(request), settings.login_max_failures,
                                          settings.login_window_s)
        if wait:
            audit.record(db, request, body.username, login_throttle.THROTTLED, "user", None, retry_after_s=wait)
            db.commit()
            raise ApiError(429, f"too many failed logins; try again in {wait} s", headers={"Retry-After": str(wait)},
                           code="login_throttled", retry_after_s=wait)
        user = authenticate(db, body.username, body.password)
        if user is None:
            audit.record(db, request, body.username, "login.failed", "user", None)
            db.commit()
            raise ApiError(401, "wrong username or password", code="bad_credentials")
        token = create_login_session(db, user, request.app.state.secret_key, settings.session_ttl_s,
                                     audit.client_ip(request))
        audit.record(db, request, user.username, "login", "user", user.id)
        db.commit()
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_ttl_s, httponly=True, samesite="lax",
                        secure=settings.session_cookie_secure, path="/")
    return {"username": user.username, "role": user.role}


@router.post("/auth/logout", response_model=Ok, responses=responses(403))
def logout(request: Request, response: Response, db: Session = Depends(get_db)) -> dict:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_login_session(db, request.app.state.secret_key, token)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", response_model=Me, responses=responses(401))
def me(principal: Principal = Depends(signed_in)) -> dict:
    return {"username": principal.name, "role": principal.role, "kind": principal.kind,
            "user_id": principal.user_id, "token_id": principal.token_id, "screen": principal.screen}
