"""live cameras: a camera's stream URL, its recorded segments, gaps and recorder heartbeat

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no constraint): SQLite keeps the table, no rebuild
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream_url', sa.String(length=1024), nullable=True))
    op.create_table('live_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('start_at', sa.DateTime(), nullable=False),
    sa.Column('end_at', sa.DateTime(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('connection', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('ended_by', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('window_path', sa.String(length=512), nullable=True),
    sa.Column('span_from_s', sa.Float(), nullable=True),
    sa.Column('span_to_s', sa.Float(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('camera_id', 'path', name='uq_live_segments_camera_path')
    )
    with op.batch_alter_table('live_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_segments_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_segments_start_at'), ['start_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_segments_job_id'), ['job_id'], unique=False)
    op.create_table('stream_gaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('start_at', sa.DateTime(), nullable=False),
    sa.Column('end_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stream_gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stream_gaps_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stream_gaps_start_at'), ['start_at'], unique=False)
    op.create_table('recorder_status',
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('last_packet_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.PrimaryKeyConstraint('camera_id')
    )


def downgrade() -> None:
    op.drop_table('recorder_status')
    with op.batch_alter_table('stream_gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stream_gaps_start_at'))
        batch_op.drop_index(batch_op.f('ix_stream_gaps_camera_id'))
    op.drop_table('stream_gaps')
    with op.batch_alter_table('live_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_segments_job_id'))
        batch_op.drop_index(batch_op.f('ix_live_segments_start_at'))
        batch_op.drop_index(batch_op.f('ix_live_segments_camera_id'))
    op.drop_table('live_segments')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_column('stream_url')
