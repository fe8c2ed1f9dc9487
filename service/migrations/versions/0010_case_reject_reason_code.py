"""a rejected case's reason as a code (``cases.reject_reason_code``), backfilled from the text

Revision ID: 0010
Revises: 0009

A rejection stored its reason only as text: the chosen reason's label in the reviewer's page
language, with the note after it ("不构成违法: 行人已过街"). The statistics mapped the text back to
a code by the catalogues' labels, so rewording a label turned every older rejection into
``other``. The code is now stored beside the text when the case is rejected.

Backfill: every rejected case gets the code its text maps to by the labels the review page sent
until this revision (``LABELS_UNTIL_0010``, written out here: a label reworded in a later release
must not change what an upgrade from before this one fills in), by the same expression the
statistics used until now (``service.reject_reasons.reason_code_sql``), so the figures read the
same after the upgrade as before it; one UPDATE, done by the database. Cases in other states keep
NULL (the code is a rejection's only).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.reject_reasons import reason_code_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The reject dialogs' labels (en, zh-CN) as the page sent them before the code was stored.
LABELS_UNTIL_0010: dict[str, tuple[str, ...]] = {
    "not_violation": ("Not a violation", "不构成违法"),
    "not_identifiable": ("Offender not identifiable", "无法确认违法人员"),
    "wrong_signal": ("Signal state misread", "信号灯状态误判"),
    "duplicate": ("Duplicate of another case", "与其他案件重复"),
    "detector_error": ("Detection error", "检测错误"),
}

cases = sa.table(
    "cases", sa.column("state", sa.String), sa.column("reason", sa.Text), sa.column("reject_reason_code", sa.String)
)


def backfill(bind) -> int:  # noqa: ANN001
    """Set ``reject_reason_code`` of every rejected case that has none; the count set."""
    res = bind.execute(
        cases.update()
        .where(cases.c.state == "rejected", cases.c.reject_reason_code.is_(None))
        .values(reject_reason_code=reason_code_sql(cases.c.reason, LABELS_UNTIL_0010))
    )
    return res.rowcount


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reject_reason_code", sa.String(length=32), nullable=True))
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("reject_reason_code")
