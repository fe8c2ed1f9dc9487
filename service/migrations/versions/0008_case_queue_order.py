"""indexes in the review queue's order (created_at, start_s, id), alone and after the state

Revision ID: 0008
Revises: 0007

The queue lists cases oldest first (``ORDER BY created_at, start_s, id``), usually of one state.
With only single-column indexes PostgreSQL read every matching row and sorted them for each page:
at 20,000 cases the unfiltered first page took seconds and the pending queue's a quarter of one.
In the list's order the first page is the first 50 index entries. Plain CREATE INDEX (no table
rebuild on SQLite); existing rows need nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_queue_order", ["created_at", "start_s", "id"], unique=False)
        batch_op.create_index("ix_cases_state_queue_order", ["state", "created_at", "start_s", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_queue_order")
        batch_op.drop_index("ix_cases_queue_order")
