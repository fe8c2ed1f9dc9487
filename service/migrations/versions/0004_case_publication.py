"""case publication: a human-readable public number and the screens a case is shown on

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_number', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('public_screens', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_public_number'), ['public_number'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_public_number'))
        batch_op.drop_column('public_screens')
        batch_op.drop_column('public_number')
