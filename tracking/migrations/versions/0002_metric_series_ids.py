"""Metric points keyed by an integer series id (one per run and key, held by its summary row).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import math

from alembic import op
from sqlalchemy import MetaData, text

from tracking.entities import MetricPoint
from tracking.migrations.shapes import tables_0001
from tracking.store import schema
from tracking.store.metric_writer import summarise

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SUMMARY_COLUMNS = "run_id, key, last_value, last_step, last_timestamp, min_value, min_step, max_value, max_step"
_SUMMARY_PARAMS = ", ".join(f":{c}" for c in _SUMMARY_COLUMNS.split(", "))


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
    if shape is schema.metadata:
        _summarise_orphans()
    op.execute(copy_points)
    op.drop_table("metrics_old")
    op.drop_table("metric_summaries_old")


def _summarise_orphans() -> None:
    """Give a summary row (and so a series id) to any (run, key) whose points have none.

    The writer keeps both in one transaction, so there should be none; but the points are
    joined to their series through that row, and a point without one would be lost.
    """
    bind = op.get_bind()
    orphans = bind.execute(
        text(
            "SELECT DISTINCT m.run_id, m.key FROM metrics_old m WHERE NOT EXISTS "
            "(SELECT 1 FROM metric_summaries s WHERE s.run_id = m.run_id AND s.key = m.key) ORDER BY 1, 2"
        )
    ).all()
    for run_id, key in orphans:
        history = bind.execute(
            text("SELECT step, value, timestamp FROM metrics_old WHERE run_id = :r AND key = :k ORDER BY step"),
            {"r": run_id, "k": key},
        ).all()
        points = [MetricPoint(run_id, key, s, math.nan if v is None else v, ts) for s, v, ts in history]
        (row,) = summarise(points)
        bind.execute(
            text(f"INSERT INTO metric_summaries ({_SUMMARY_COLUMNS}) VALUES ({_SUMMARY_PARAMS})"),
            dict(zip(_SUMMARY_COLUMNS.split(", "), row, strict=True)),
        )


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
