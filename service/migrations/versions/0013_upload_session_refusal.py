"""the refusal that ended a resumable session's completion (``upload_sessions.refusal``)

Revision ID: 0013
Revises: 0012

A completion refused for the file itself (not a video: 415; a duplicate of a stored upload: 409)
deleted its session, so when that answer was lost (a dropped connection, a proxy's 504 while a
large file was hashed) the upload page's retry got 404 'no upload session' and told the operator
the session was lost instead of why the file was refused. A refused session now keeps its row,
with the refusal (its status and error body), until the janitor expires it, as a completed
session does (0012), and a repeated completion answers with the same refusal. NULL on existing
rows: none of them was refused (refused sessions were deleted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal", sa.JSON(), nullable=True))


def downgrade() -> None:
    # a refused session meant nothing before this revision (it was deleted); left in place it
    # would read as open, and a chunk would start filling it again
    op.execute(sa.text("DELETE FROM upload_sessions WHERE refusal IS NOT NULL"))
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_column("refusal")
