"""``civicwatch users``: manage logins from the shell (first admin, password resets)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from civicwatch.commands import refuse

ROLES = ("admin", "reviewer", "operator", "display")


def add_parser(subparsers) -> None:  # noqa: ANN001
    p = subparsers.add_parser("users", help="add, list or change service users")
    sub = p.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name", help="the login name")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="reviewer: reviews and publishes cases; operator: uploads footage; display: an exposure "
                          "screen; admin: users, tokens, cameras and the audit log")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_checked(run_add, "users add"))
    ls = sub.add_parser("list", help="list users")
    ls.set_defaults(func=_checked(run_list, "users list"))
    pw = sub.add_parser("passwd", help="set a user's password (and re-activate the user)")
    pw.add_argument("name", help="the login name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    pw.set_defaults(func=_checked(run_passwd, "users passwd"))


def _checked(run: Callable[[argparse.Namespace], int], command: str) -> Callable[[argparse.Namespace], int]:
    """``run``, once the settings, the data folder and the database are usable; else one line on
    stderr naming the problem and exit code 2, as ``serve`` says it (a traceback before, and for bad
    settings pydantic's text with the values given, a database password among them), and before
    the password is asked for."""

    def checked(args: argparse.Namespace) -> int:
        from pydantic import ValidationError

        from service.config import Settings, settings_error_text
        from service.startup_checks import cannot_start

        try:
            why = cannot_start(Settings())
        except (ValidationError, ValueError) as err:
            why = f"bad settings: {settings_error_text(err)}"
        if why is not None:
            return refuse(command, why)
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return run(args)
        except SQLAlchemyError as err:
            # The database went away or refused the change after the check above (a lost
            # connection, a full disk, a constraint): one line, not a traceback. The engines hide
            # statement values (``hide_parameters``), so no password hash is printed.
            first_line = str(getattr(err, "orig", None) or err).strip().splitlines()[0] if str(err).strip() else ""
            return refuse(command, f"the database refused it ({type(err).__name__}: {first_line})")

    return checked


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        print("passwords do not match", file=sys.stderr)
        return None
    return first


def _bilingual(message: str, code: str | None) -> str:
    """The English message and, where the pages have one for this code, its Chinese wording."""
    from service.web import i18n

    key = f"error.{code}"
    zh = i18n.catalogue("zh-CN").get(key) if code else None
    return f"{message} / {zh}" if zh else message


def _factory():
    from service.config import Settings
    from service.db import make_engine, make_session_factory, migrate

    settings = Settings()
    settings.ensure_dirs()
    engine = make_engine(settings)
    migrate(settings, engine)
    return make_session_factory(engine)


def _name_problem(name: str) -> str | None:
    """Why ``name`` is no login name the admin page would create (``service.api.admin.UserIn``);
    None when it is one. The command created any text: "", " rita", one longer than the column."""
    from pydantic import ValidationError

    from service.api.admin import UserIn

    try:
        UserIn.model_validate({"username": name, "password": "-", "role": "reviewer"})
    except ValidationError:
        return (f"name {name[:80]!r}: a login name is 1 to 64 ASCII letters, digits and the signs _ . @ - "
                "(no spaces), as the admin page takes")
    return None


def run_add(args: argparse.Namespace) -> int:
    from service import audit
    from service.api.admin import create_user
    from service.db import session_scope
    from service.errors import ApiError

    if (problem := _name_problem(args.name)) is not None:
        return refuse("users add", problem)
    password = _password(args.password_stdin)
    if password is None:
        return 2
    try:
        with session_scope(_factory()) as db:
            user = create_user(db, args.name, password, args.role)
            audit.record(db, None, "cli", "user.create", "user", user.id, username=user.username, role=user.role)
    except ApiError as err:
        print(f"civicwatch users add: {_bilingual(err.detail, err.extra.get('code'))}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"civicwatch users add: {_bilingual(str(err), getattr(err, 'code', None))}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.name!r}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from service.models import User

    with _factory()() as db:
        for u in db.scalars(select(User).order_by(User.id)):
            print(f"{u.id}\t{u.username}\t{u.role}\t{'active' if u.active else 'inactive'}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from sqlalchemy import delete, select

    from service import audit
    from service.db import session_scope
    from service.models import LoginSession, User
    from service.security import check_password_policy, hash_password

    password = _password(args.password_stdin)
    if password is None:
        return 2
    try:
        check_password_policy(password, args.name)
    except ValueError as err:
        print(f"civicwatch users passwd: {_bilingual(str(err), getattr(err, 'code', None))}", file=sys.stderr)
        return 2
    with session_scope(_factory()) as db:
        user = db.scalar(select(User).where(User.username == args.name))
        if user is None:
            print(f"civicwatch users passwd: no user {args.name!r}", file=sys.stderr)
            return 2
        user.password_hash, user.active = hash_password(password), True
        # A reset is often for a password that got out: whoever signed in with it is signed out
        # now, not when the session expires (as PATCH /api/users does).
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        audit.record(db, None, "cli", "user.update", "user", user.id, password="changed")
    print(f"password of {args.name!r} set")
    return 0
