"""Users and API tokens (admin only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service import audit
from service.api.common import ApiModel, RowId, iso
from service.api.schemas import NewToken, TokenOut, UserOut
from service.errors import ApiError, responses
from service.models import ApiToken, LoginSession, User, utcnow
from service.password_policy import PolicyViolation
from service.security import Principal, check_password_policy, get_db, hash_password, new_api_token, require_roles

router = APIRouter(prefix="/api", tags=["admin"], responses=responses(401, 403))
admin_only = require_roles("admin")

Role = Literal["admin", "reviewer", "operator", "display"]


def user_json(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "active": u.active, "created_at": iso(u.created_at)}


def token_json(t: ApiToken) -> dict:
    return {"id": t.id, "name": t.name, "role": t.role, "screen": t.screen, "prefix": t.prefix,
            "created_at": iso(t.created_at), "last_used_at": iso(t.last_used_at), "revoked_at": iso(t.revoked_at),
            "active": t.revoked_at is None}


class UserIn(ApiModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=1024)  # the rules: service.password_policy
    role: Role


class UserPatch(ApiModel):
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)


def acceptable_password(password: str, username: str) -> str:
    """The password, or a 422 whose ``code`` names the rule it breaks (the pages translate it)."""
    try:
        check_password_policy(password, username)
    except PolicyViolation as err:
        raise ApiError(422, f"password: {err}", code=err.code) from None
    return password


def create_user(db: Session, username: str, password: str, role: str) -> User:
    acceptable_password(password, username)
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise ApiError(409, f"user {username!r} already exists", code="user_exists")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    db.add(user)
    db.flush()
    return user


@router.get("/users", response_model=list[UserOut])
def list_users(db: Session = Depends(get_db), _: Principal = Depends(admin_only)) -> list[dict]:
    return [user_json(u) for u in db.scalars(select(User).order_by(User.id))]


@router.post("/users", status_code=201, response_model=UserOut, responses=responses(409))
def add_user(body: UserIn, request: Request, db: Session = Depends(get_db), who: Principal = Depends(admin_only)) -> dict:
    user = create_user(db, body.username, body.password, body.role)
    audit.record(db, request, who, "user.create", "user", user.id, username=user.username, role=user.role)
    db.commit()
    return user_json(user)


@router.patch("/users/{user_id}", response_model=UserOut, responses=responses(404, 409))
def patch_user(user_id: RowId, body: UserPatch, request: Request, db: Session = Depends(get_db),
               who: Principal = Depends(admin_only)) -> dict:
    user = db.get(User, user_id)
    if user is None:
        raise ApiError(404, f"no user {user_id}")
    changes: dict = {}
    losing_admin = user.role == "admin" and user.active and (
        (body.role is not None and body.role != "admin") or body.active is False)
    if losing_admin:
        admins = db.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True)))
        if admins <= 1:
            raise ApiError(409, "this is the last active admin; make another admin first", code="last_admin")
    if body.role is not None and body.role != user.role:
        changes["role"] = [user.role, body.role]
        user.role = body.role
    if body.active is not None and body.active != user.active:
        changes["active"] = [user.active, body.active]
        user.active = body.active
    if body.password is not None:
        acceptable_password(body.password, user.username)
        user.password_hash = hash_password(body.password)
        changes["password"] = "changed"
    if changes:
        # A role change or deactivation takes effect now, not when the old session expires.
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        audit.record(db, request, who, "user.update", "user", user.id, username=user.username, **changes)
    db.commit()
    return user_json(user)


class TokenIn(ApiModel):
    name: str = Field(min_length=1, max_length=128)
    role: Literal["operator", "display"]
    screen: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(db: Session = Depends(get_db), _: Principal = Depends(admin_only)) -> list[dict]:
    return [token_json(t) for t in db.scalars(select(ApiToken).order_by(ApiToken.id))]


@router.post("/tokens", status_code=201, response_model=NewToken)
def add_token(body: TokenIn, request: Request, db: Session = Depends(get_db), who: Principal = Depends(admin_only)) -> dict:
    plaintext, hashed = new_api_token()
    tok = ApiToken(name=body.name, token_hash=hashed, prefix=plaintext[:10], role=body.role, screen=body.screen,
                   created_by=who.user_id)
    db.add(tok)
    db.flush()
    audit.record(db, request, who, "token.create", "token", tok.id, name=tok.name, role=tok.role, screen=tok.screen)
    db.commit()
    return {**token_json(tok), "token": plaintext}


@router.delete("/tokens/{token_id}", response_model=TokenOut, responses=responses(404))
def revoke_token(token_id: RowId, request: Request, db: Session = Depends(get_db), who: Principal = Depends(admin_only)) -> dict:
    tok = db.get(ApiToken, token_id)
    if tok is None:
        raise ApiError(404, f"no token {token_id}")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit.record(db, request, who, "token.revoke", "token", tok.id, name=tok.name)
    db.commit()
    return token_json(tok)
