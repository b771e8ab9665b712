"""Initial schema: experiments, runs, params, tags, metrics, summaries, model registry.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from tracking.migrations.shapes import tables_0001

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables_0001().create_all(op.get_bind())


def downgrade() -> None:
    tables_0001().drop_all(op.get_bind())
