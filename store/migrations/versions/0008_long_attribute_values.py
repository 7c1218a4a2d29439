"""attribute index: long values indexed by their prefix, kept whole in value_long

Values of any length are stored: `value_text` holds at most the first 200 characters (what the
(path, value_text) btree holds; PostgreSQL refused index entries over ~8 KB), `value_long` the whole text
when it is longer. Existing long rows (possible on SQLite) are split the same way.

Revision ID: 0008
Revises: 0005 (chained after main's tenants revision; the integrator may re-chain it)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

PREFIX = 200  # store.values.PREFIX when this revision was written
TABLES = ("service_attr", "monitor_attr")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("value_long", sa.Text(), nullable=True))
        op.execute(
            f"UPDATE {table} SET value_long = value_text, value_text = substr(value_text, 1, {PREFIX}) "
            f"WHERE length(value_text) > {PREFIX}"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"UPDATE {table} SET value_text = value_long WHERE value_long IS NOT NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("value_long")
