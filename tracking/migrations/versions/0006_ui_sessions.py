"""The live UI's browser sessions in the store, so that every worker of ``sweeps server`` knows them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from tracking.migrations.shapes import tables_0006_new

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables_0006_new().create_all(op.get_bind())


def downgrade() -> None:
    # Sessions are disposable: an older release asks everyone to sign in again.
    tables_0006_new().drop_all(op.get_bind())
