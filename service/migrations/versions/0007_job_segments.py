"""job segments (long uploads split across the worker pool) and the cases' dedup key

Revision ID: 0007
Revises: 0006

``job_segments`` is a new table; ``cases.dedup_key`` is a plain ADD COLUMN plus a unique index
(SQLite keeps the table, no rebuild). Existing cases keep NULL, which the unique index allows
any number of times.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('span_from_s', sa.Float(), nullable=False),
    sa.Column('span_to_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('out_dir', sa.String(length=512), nullable=True),
    sa.Column('cases_found', sa.Integer(), nullable=True),
    sa.Column('video_seconds', sa.Float(), nullable=True),
    sa.Column('processing_seconds', sa.Float(), nullable=True),
    sa.Column('worker', sa.String(length=64), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'index', name='uq_job_segments_job_index')
    )
    with op.batch_alter_table('job_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_segments_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_segments_state'), ['state'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedup_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_dedup_key'), ['dedup_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_dedup_key'))
        batch_op.drop_column('dedup_key')
    with op.batch_alter_table('job_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_segments_state'))
        batch_op.drop_index(batch_op.f('ix_job_segments_job_id'))
    op.drop_table('job_segments')
