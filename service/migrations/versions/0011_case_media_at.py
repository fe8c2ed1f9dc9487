"""when a case's published media in force were recorded (``cases.media_at``)

Revision ID: 0011
Revises: 0010

A published case whose media were made under a redaction policy since changed leaves the screens
(a screen polling with ``since`` is told it was withdrawn) until its media are made again. The
feed sent with ``since`` only what was decided after it, and the case's decision is older, so such
a screen never got the case back. The feed now also sends what was given new media after
``since``. NULL on existing rows: their media date from their decision, which the feed reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("media_at")
