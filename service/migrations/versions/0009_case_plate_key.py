"""the search key of each case's plate in force (``cases.plate_key``), indexed, backfilled

Revision ID: 0009
Revises: 0008

``GET /api/cases?plate=`` finds cases by the plate in force: the newest reviewer correction, else
the pipeline's read. Reading every case's plate JSON and its corrections for each search is a
scan of the whole table; the key (``service.plate_search.plate_key``) is kept on the case instead.

The index: a substring match (``LIKE '%A123%'``) needs a trigram index on PostgreSQL (pg_trgm,
a trusted extension since PostgreSQL 13, so the database's owner may create it). Where it cannot
be had the index is a plain one: the search still works, by scanning. On SQLite a plain index.

Backfill: the key of every existing case with a plate read or a correction, computed by the same
function the service uses (keys written by this migration and by the service must agree, or a
search misses the older cases), in batches.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from service.plate_search import plate_key

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
BATCH = 1000

cases = sa.table("cases", sa.column("id", sa.String), sa.column("plate", sa.JSON), sa.column("plate_key", sa.String))
corrections = sa.table("plate_corrections", sa.column("id", sa.Integer), sa.column("case_id", sa.String),
                       sa.column("text", sa.String))


def _trigram_available(bind) -> bool:  # noqa: ANN001
    """Whether pg_trgm is (or could now be) installed; a refusal leaves the transaction usable."""
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True
    except sa.exc.DBAPIError as err:
        log.warning("pg_trgm is not available (%s): the plate search's index is a plain one and "
                    "searches scan the cases", err.orig)
        return False


def backfill(bind) -> int:  # noqa: ANN001
    """Set ``plate_key`` of every case from its newest correction or its read; the count set."""
    newest = (sa.select(corrections.c.case_id, sa.func.max(corrections.c.id).label("id"))
              .group_by(corrections.c.case_id).subquery())
    fixed = dict(bind.execute(sa.select(corrections.c.case_id, corrections.c.text)
                              .join(newest, corrections.c.id == newest.c.id)).all())
    updates, done, last = [], 0, None
    while True:  # by id, a batch at a time: the plate JSON of 20,000 cases need not be in memory at once
        stmt = sa.select(cases.c.id, cases.c.plate).order_by(cases.c.id).limit(BATCH)
        rows = bind.execute(stmt if last is None else stmt.where(cases.c.id > last)).all()
        if not rows:
            break
        last = rows[-1].id
        for case_id, plate in rows:
            text = fixed.get(case_id)
            if text is None and isinstance(plate, dict) and isinstance(plate.get("text"), str):
                text = plate["text"]
            key = plate_key(text)
            if key is not None:
                updates.append({"case_id": case_id, "key": key})
        if updates:
            bind.execute(cases.update().where(cases.c.id == sa.bindparam("case_id"))
                         .values(plate_key=sa.bindparam("key")), updates)
            done += len(updates)
            updates = []
    return done


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plate_key", sa.String(length=64), nullable=True))
    backfill(bind)
    if bind.dialect.name == "postgresql" and _trigram_available(bind):
        op.create_index("ix_cases_plate_key", "cases", ["plate_key"], unique=False, postgresql_using="gin",
                        postgresql_ops={"plate_key": "gin_trgm_ops"})
    else:
        op.create_index("ix_cases_plate_key", "cases", ["plate_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_plate_key", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("plate_key")
