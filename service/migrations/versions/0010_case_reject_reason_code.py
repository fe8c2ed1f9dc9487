"""a rejected case's reason as a code (``cases.reject_reason_code``), backfilled from the text

Revision ID: 0010
Revises: 0009

A rejection stored its reason only as text: the chosen reason's label in the reviewer's page
language, with the note after it ("不构成违法: 行人已过街"). The statistics mapped the text back to
a code by the catalogues' labels, so rewording a label turned every older rejection into
``other``. The code is now stored beside the text when the case is rejected.

Backfill: every rejected case gets the code its text maps to by today's labels, by the same
expression the statistics used until now (``service.reject_reasons.reason_code_sql``), so the
figures read the same after the upgrade as before it; one UPDATE, done by the database. Cases in
other states keep NULL (the code is a rejection's only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.reject_reasons import reason_code_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

cases = sa.table(
    "cases", sa.column("state", sa.String), sa.column("reason", sa.Text), sa.column("reject_reason_code", sa.String)
)


def backfill(bind) -> int:  # noqa: ANN001
    """Set ``reject_reason_code`` of every rejected case that has none; the count set."""
    res = bind.execute(
        cases.update()
        .where(cases.c.state == "rejected", cases.c.reject_reason_code.is_(None))
        .values(reject_reason_code=reason_code_sql(cases.c.reason))
    )
    return res.rowcount


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reject_reason_code", sa.String(length=32), nullable=True))
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("reject_reason_code")
