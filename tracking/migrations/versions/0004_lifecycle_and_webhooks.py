"""Soft deletion of runs and experiments; step blocks for ``step=None`` writers; registry webhooks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tracking.migrations.shapes import tables_0004_new

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns with no default: SQLite adds them in place, no table rebuild.
    op.add_column("runs", sa.Column("deleted_at", sa.BigInteger, nullable=True))
    op.add_column("experiments", sa.Column("deleted_at", sa.BigInteger, nullable=True))
    tables_0004_new().create_all(op.get_bind())


def downgrade() -> None:
    tables_0004_new().drop_all(op.get_bind())
    # Plain ALTER TABLE (SQLite >= 3.35 and PostgreSQL): a batch rebuild of experiments would
    # trip the runs' foreign key to it.
    op.execute("ALTER TABLE experiments DROP COLUMN deleted_at")
    op.execute("ALTER TABLE runs DROP COLUMN deleted_at")
