"""hub listeners and delivery attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('hub_listener',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('callback', sa.Text(), nullable=False),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('secret', sa.String(length=255), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cursor', BigId, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lease_owner', sa.String(length=255), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_listener'))
    )
    with op.batch_alter_table('hub_listener', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_listener_state'), ['state'], unique=False)

    op.create_table('hub_delivery',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('listener_id', sa.String(length=64), nullable=False),
    sa.Column('seq', BigId, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('delivered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['listener_id'], ['hub_listener.id'],
                            name=op.f('fk_hub_delivery_listener_id_hub_listener'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_delivery'))
    )
    with op.batch_alter_table('hub_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_hub_delivery_listener', ['listener_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hub_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_hub_delivery_listener')
    op.drop_table('hub_delivery')
    with op.batch_alter_table('hub_listener', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_listener_state'))
    op.drop_table('hub_listener')
