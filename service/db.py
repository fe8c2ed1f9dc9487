"""Engine, session factory and migrations.

SQLite is the embedded default: WAL so readers (the web requests) never wait for the writer (the
job worker), foreign keys on because SQLite leaves them off, and a busy timeout so two writers
queue instead of failing. ``postgresql://`` URLs are routed to psycopg 3, the driver we ship.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(settings: Settings) -> Engine:
    """The service's engine. ``hide_parameters``: a database error's text ends with the values of
    the statement that failed (a password hash, a session token, a plate), and that text reaches
    the service's log and the CLI's terminal; with it the text names the statement only."""
    url = normalize_url(settings.db_url)
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def lock_row(db: Session, model: Any, row_id: object) -> None:
    """Hold the row ``row_id`` of ``model`` until this transaction ends, so that what the caller
    reads next is what it writes on top of, and a second writer of the row waits for it.

    PostgreSQL locks the row (``SELECT ... FOR UPDATE``). SQLite has no row lock, and its driver
    begins a transaction only at the first write: two requests both read the row, then wrote one
    after the other, the second on top of what it had read, not of what the first wrote. There a
    write that changes nothing takes the database's write lock now, before the read (the second
    writer waits on the busy timeout)."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(update(model).where(model.id == row_id).values(id=model.id))
    else:
        db.execute(select(model.id).where(model.id == row_id).with_for_update())


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(settings: Settings, engine: Engine | None = None) -> None:
    """Bring the schema to the newest revision (idempotent; runs at every start)."""
    from alembic import command

    own = engine is None
    engine = engine or make_engine(settings)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        if own:
            engine.dispose()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - health check reports, never raises
        return False
