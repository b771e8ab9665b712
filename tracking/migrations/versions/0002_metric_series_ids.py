"""Metric points keyed by an integer series id (one per run and key, held by its summary row).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import MetaData

from tracking.migrations.shapes import tables_0001
from tracking.store import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SUMMARY_COLUMNS = "run_id, key, last_value, last_step, last_timestamp, min_value, min_step, max_value, max_step"


def _tables(shape: MetaData) -> tuple:
    return shape.tables["metric_summaries"], shape.tables["metrics"]


def _replace(shape: MetaData, copy_points: str) -> None:
    """Rebuild both tables in ``shape``, keeping every summary and point.

    The old rows go to plain copies first, so the new tables can take the old tables' names
    and their constraints' names.
    """
    op.execute("CREATE TABLE metric_summaries_old AS SELECT * FROM metric_summaries")
    op.execute("CREATE TABLE metrics_old AS SELECT * FROM metrics")
    op.drop_table("metrics")
    op.drop_table("metric_summaries")
    summaries, metrics = _tables(shape)
    bind = op.get_bind()
    summaries.create(bind)
    metrics.create(bind)
    # Sorted, so that a run's series get neighbouring ids, as the writer hands them out.
    op.execute(
        f"INSERT INTO metric_summaries ({_SUMMARY_COLUMNS}) "
        f"SELECT {_SUMMARY_COLUMNS} FROM metric_summaries_old ORDER BY run_id, key"
    )
    op.execute(copy_points)
    op.drop_table("metrics_old")
    op.drop_table("metric_summaries_old")


def upgrade() -> None:
    _replace(
        schema.metadata,
        "INSERT INTO metrics (series_id, step, value, timestamp) "
        "SELECT s.series_id, m.step, m.value, m.timestamp FROM metrics_old m "
        "JOIN metric_summaries s ON s.run_id = m.run_id AND s.key = m.key",
    )


def downgrade() -> None:
    _replace(
        tables_0001(),
        "INSERT INTO metrics (run_id, key, step, value, timestamp) "
        "SELECT s.run_id, s.key, m.step, m.value, m.timestamp FROM metrics_old m "
        "JOIN metric_summaries_old s ON s.series_id = m.series_id",
    )
