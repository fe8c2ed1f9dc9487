"""case plate read and reviewer plate corrections

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plate', sa.JSON(), nullable=True))
    op.create_table('plate_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=160), nullable=False),
    sa.Column('text', sa.String(length=32), nullable=False),
    sa.Column('format_ok', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plate_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plate_corrections_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plate_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plate_corrections_case_id'))
    op.drop_table('plate_corrections')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('plate')
