"""scene versions (a case keeps the scene it was judged by) and retired cameras

Revision ID: 0005
Revises: 0004

Every existing camera gets version 1 made from its current scene and reference frame, and every
existing job and case (which recorded no version) points at it: the best that can be said of
them, since earlier releases kept no older scenes.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scene_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=128), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('reference_path', sa.String(length=512), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('camera_id', 'number', name='uq_scene_versions_camera_number')
    )
    with op.batch_alter_table('scene_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scene_versions_camera_id'), ['camera_id'], unique=False)
    # plain ADD COLUMN (no constraint): SQLite keeps the tables, no rebuild
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scene_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('retired_by', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('retired_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scene_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_scene_version_id'), ['scene_version_id'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scene_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_scene_version_id'), ['scene_version_id'], unique=False)
    _first_versions()


def _first_versions() -> None:
    conn = op.get_bind()
    cameras = sa.table('cameras', sa.column('id', sa.String), sa.column('scene_yaml', sa.Text),
                       sa.column('reference_path', sa.String), sa.column('created_at', sa.DateTime),
                       sa.column('updated_at', sa.DateTime), sa.column('scene_version', sa.Integer))
    versions = sa.table('scene_versions', sa.column('id', sa.Integer), sa.column('camera_id', sa.String),
                        sa.column('number', sa.Integer), sa.column('document', sa.Text),
                        sa.column('sha256', sa.String), sa.column('reference_path', sa.String),
                        sa.column('created_at', sa.DateTime), sa.column('created_by', sa.String),
                        sa.column('note', sa.Text))
    jobs = sa.table('jobs', sa.column('upload_id', sa.Integer), sa.column('scene_version_id', sa.Integer))
    uploads = sa.table('uploads', sa.column('id', sa.Integer), sa.column('camera_id', sa.String))
    cases = sa.table('cases', sa.column('camera_id', sa.String), sa.column('scene_version_id', sa.Integer))
    for cam_id, text, ref, created, updated in conn.execute(sa.select(
            cameras.c.id, cameras.c.scene_yaml, cameras.c.reference_path, cameras.c.created_at,
            cameras.c.updated_at)).all():
        conn.execute(versions.insert().values(
            camera_id=cam_id, number=1, document=text, sha256=hashlib.sha256(text.encode('utf-8')).hexdigest(),
            reference_path=ref, created_at=updated or created, created_by='migration',
            note='the scene in force when scene versions were introduced'))
        version_id = conn.execute(sa.select(versions.c.id).where(
            versions.c.camera_id == cam_id, versions.c.number == 1)).scalar_one()
        conn.execute(cameras.update().where(cameras.c.id == cam_id).values(scene_version=1))
        in_camera = sa.select(uploads.c.id).where(uploads.c.camera_id == cam_id).scalar_subquery()
        conn.execute(jobs.update().where(jobs.c.upload_id.in_(in_camera), jobs.c.scene_version_id.is_(None))
                     .values(scene_version_id=version_id))
        conn.execute(cases.update().where(cases.c.camera_id == cam_id, cases.c.scene_version_id.is_(None))
                     .values(scene_version_id=version_id))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_scene_version_id'))
        batch_op.drop_column('scene_version_id')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_scene_version_id'))
        batch_op.drop_column('scene_version_id')
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_column('retired_reason')
        batch_op.drop_column('retired_by')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('scene_version')
    with op.batch_alter_table('scene_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scene_versions_camera_id'))
    op.drop_table('scene_versions')
