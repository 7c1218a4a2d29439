"""activation fallout: held work, bounded retries, jeopardy, the operator's log, per-step correlation ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Doc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("activation") as batch:
        batch.add_column(sa.Column("held_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retry_after", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("jeopardy_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("operator_log", Doc, nullable=True))
    with op.batch_alter_table("activation_step") as batch:
        batch.add_column(sa.Column("correlation_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activation_step") as batch:
        batch.drop_column("correlation_id")
    with op.batch_alter_table("activation") as batch:
        for name in ("operator_log", "jeopardy_at", "retry_after", "failing_since", "failures", "held_at",
                     "held_reason"):
            batch.drop_column(name)
