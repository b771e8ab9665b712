"""Metric points keyed by an integer series id (one per run and key, held by its summary row).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import MetaData, Row, text

from tracking.migrations.shapes import metric_tables_0002, tables_0001

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SUMMARY_COLUMNS = "run_id, key, last_value, last_step, last_timestamp, min_value, min_step, max_value, max_step"
_SUMMARY_PARAMS = ", ".join(f":{c}" for c in _SUMMARY_COLUMNS.split(", "))


def _tables(shape: MetaData) -> tuple:
    return shape.tables["metric_summaries"], shape.tables["metrics"]


def _replace(shape: MetaData, copy_points: str, *, summarise_orphans: bool = False) -> None:
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
    if summarise_orphans:
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
        bind.execute(
            text(f"INSERT INTO metric_summaries ({_SUMMARY_COLUMNS}) VALUES ({_SUMMARY_PARAMS})"),
            dict(zip(_SUMMARY_COLUMNS.split(", "), _summary(run_id, key, history), strict=True)),
        )


def _summary(run_id: str, key: str, history: Sequence[Row]) -> tuple:
    """One series' summary row from its (step, value, timestamp) points in step order.

    The writer's rule as of this revision, frozen here: last by step; min and max ignoring
    NULL (a stored NaN), the first step winning ties; a series of NULLs keeps its first step.
    """
    first_step = history[0][0]
    last_step, last_value, last_ts = history[-1]
    low: tuple[float | None, int] = (None, first_step)
    high: tuple[float | None, int] = (None, first_step)
    for step, value, _ in history:
        if value is None:
            continue
        if low[0] is None or value < low[0]:
            low = (value, step)
        if high[0] is None or value > high[0]:
            high = (value, step)
    return (run_id, key, last_value, last_step, last_ts, low[0], low[1], high[0], high[1])


def upgrade() -> None:
    _replace(
        metric_tables_0002(),
        "INSERT INTO metrics (series_id, step, value, timestamp) "
        "SELECT s.series_id, m.step, m.value, m.timestamp FROM metrics_old m "
        "JOIN metric_summaries s ON s.run_id = m.run_id AND s.key = m.key",
        summarise_orphans=True,
    )


def downgrade() -> None:
    _replace(
        tables_0001(),
        "INSERT INTO metrics (run_id, key, step, value, timestamp) "
        "SELECT s.run_id, s.key, m.step, m.value, m.timestamp FROM metrics_old m "
        "JOIN metric_summaries_old s ON s.series_id = m.series_id",
    )
