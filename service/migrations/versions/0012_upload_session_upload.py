"""the upload a completed resumable session made (``upload_sessions.upload_id``)

Revision ID: 0012
Revises: 0011

A completion consumed its session, so when its answer was lost (a dropped connection, a proxy's
504 while a large file was hashed) the upload page's retry got 404 and told the operator the
upload had failed, though it existed. A completed session now keeps its row, naming its upload,
until the janitor expires it, and a repeated completion answers with that upload. NULL on
existing rows: they are all still open (completed sessions were deleted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # completed sessions meant nothing before this revision
    op.execute(sa.text("DELETE FROM upload_sessions WHERE upload_id IS NOT NULL"))
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_column("upload_id")
