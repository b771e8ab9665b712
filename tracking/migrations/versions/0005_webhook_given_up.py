"""Webhook events that were given up after their retry period (a dead letter, kept for redelivery).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable with no default: SQLite adds it in place, no table rebuild.
    op.add_column("webhook_outbox", sa.Column("given_up_at", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE webhook_outbox DROP COLUMN given_up_at")
