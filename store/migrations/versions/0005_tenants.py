"""tenants: every service (and revision), monitor, event, hub listener and activation belongs to one

Existing rows (written before tenants existed) belong to the default tenant, "default": the tenant of
anonymous development callers, so a server upgraded in development keeps showing what it held.

Revision ID: 0005
Revises: 0003 (re-chained by the integrator when branches merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("service", "service_revision", "monitor", "event_outbox", "hub_listener", "activation")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tenant", sa.String(length=255), nullable=False, server_default="default"))
            batch.create_index(f"ix_{table}_tenant", ["tenant"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_tenant")
            batch.drop_column("tenant")
