"""What stops a start before the service is built: a data folder it cannot write, a database that
does not answer, or one migrated by a newer release.

Both failed inside the app's start-up (``ensure_dirs``, the migrations) or while it was built (the
secret key), so an operator got a 30-line traceback ending in ``Application startup failed``
(or, for the folder, a ``NotADirectoryError`` with exit code 1) instead of one line naming the
setting. ``civicwatch serve`` and ``civicwatch worker`` ask ``cannot_start`` first and refuse
with its answer (stderr, exit code 2), as they do for settings they cannot parse.
"""

from __future__ import annotations

import os
import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.config import Settings
from service.db import normalize_url

CONNECT_TIMEOUT_S = 10  # a host that drops packets would otherwise hold the start for minutes


def cannot_start(settings: Settings) -> str | None:
    """Why the service cannot start with ``settings`` (one line, no secrets), or None."""
    return _data_dir_problem(settings) or _database_problem(settings)


def _data_dir_problem(settings: Settings) -> str | None:
    probe = settings.data_dir / f".write-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        settings.ensure_dirs()
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        return (
            f"data folder {settings.data_dir} cannot be used: {err.strerror or err} "
            "(set CIVICWATCH_DATA_DIR to a folder this user may write)"
        )
    return None


def shown_url(url: str) -> str:
    """The database URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse says nothing worth hiding beyond this
        return url.split("://", 1)[0] + "://…"


def _database_problem(settings: Settings) -> str | None:
    url = normalize_url(settings.db_url)
    shown = shown_url(settings.db_url)
    if url.startswith("sqlite"):
        connect_args: dict = {"timeout": CONNECT_TIMEOUT_S}
    else:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, connect_args=connect_args)
    except Exception as err:  # noqa: BLE001 - a URL SQLAlchemy refuses (bad port, unknown dialect)
        return f"DATABASE_URL {shown} cannot be used: {err}"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = _schema_revision(conn)
    except Exception as err:  # noqa: BLE001 - whatever the driver says, one line of it
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return f"database {shown} does not answer: {reason}"
    finally:
        engine.dispose()
    if revision is not None and revision not in known_revisions():
        # a release rolled back after a newer one migrated the database: Alembic's "Can't locate
        # revision" traceback said nothing of what to do
        return (
            f"database {shown} has schema revision {revision!r}, made by a newer CivicWatch than this one "
            f"(which knows up to {max(known_revisions())!r}): run that release again, or restore the database "
            "backup taken before the upgrade"
        )
    return None


def _schema_revision(conn) -> str | None:  # noqa: ANN001
    """The database's Alembic revision; None for a database never migrated (a new installation)."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def known_revisions() -> set[str]:
    """Every schema revision this release's migrations know."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from service.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}
