"""Users, tokens and grants of a Sweeps server; protected aliases; a sweep's driver lease.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from tracking.migrations.shapes import tables_0003_new

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables_0003_new().create_all(op.get_bind())


def downgrade() -> None:
    tables_0003_new().drop_all(op.get_bind())
