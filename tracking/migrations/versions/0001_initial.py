"""Initial schema: experiments, runs, params, tags, metrics, summaries, model registry.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from tracking.store.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# 0001 is the first schema, so it is created from the table definitions directly. A later
# migration that changes a table must first freeze that table's 0001 shape in this file.


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
