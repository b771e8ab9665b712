"""The hot path: write a batch of metric points and their summaries in one transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, text

from tracking.entities import MetricPoint

_SUMMARY_UPSERT = """
INSERT INTO metric_summaries AS s (run_id, key, last_value, last_step, last_timestamp,
                                   min_value, min_step, max_value, max_step)
VALUES ({ph})
ON CONFLICT (run_id, key) DO UPDATE SET
  last_value = CASE WHEN excluded.last_step > s.last_step THEN excluded.last_value ELSE s.last_value END,
  last_timestamp = CASE WHEN excluded.last_step > s.last_step
                        THEN excluded.last_timestamp ELSE s.last_timestamp END,
  last_step = CASE WHEN excluded.last_step > s.last_step THEN excluded.last_step ELSE s.last_step END,
  min_step = CASE WHEN excluded.min_value IS NOT NULL
                   AND (s.min_value IS NULL OR excluded.min_value < s.min_value)
                  THEN excluded.min_step ELSE s.min_step END,
  min_value = CASE WHEN excluded.min_value IS NOT NULL
                    AND (s.min_value IS NULL OR excluded.min_value < s.min_value)
                   THEN excluded.min_value ELSE s.min_value END,
  max_step = CASE WHEN excluded.max_value IS NOT NULL
                   AND (s.max_value IS NULL OR excluded.max_value > s.max_value)
                  THEN excluded.max_step ELSE s.max_step END,
  max_value = CASE WHEN excluded.max_value IS NOT NULL
                    AND (s.max_value IS NULL OR excluded.max_value > s.max_value)
                   THEN excluded.max_value ELSE s.max_value END
"""

_SUMMARY_SQLITE = _SUMMARY_UPSERT.format(ph=", ".join("?" * 9))
_SUMMARY_PG = _SUMMARY_UPSERT.format(ph=", ".join(["%s"] * 9))
_SUMMARY_REPLACE = """
INSERT INTO metric_summaries (run_id, key, last_value, last_step, last_timestamp,
                              min_value, min_step, max_value, max_step)
VALUES (:run_id, :key, :last_value, :last_step, :last_timestamp, :min_value, :min_step, :max_value, :max_step)
ON CONFLICT (run_id, key) DO UPDATE SET
  last_value = excluded.last_value, last_step = excluded.last_step, last_timestamp = excluded.last_timestamp,
  min_value = excluded.min_value, min_step = excluded.min_step,
  max_value = excluded.max_value, max_step = excluded.max_step
"""
_INSERT_SQLITE = "INSERT OR IGNORE INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)"


def _stored(value: float) -> float | None:
    # SQLite cannot hold NaN (it becomes NULL anyway); do the same on PostgreSQL so both
    # stores read back identically.
    return None if math.isnan(value) else value


def summarise(points: Sequence[MetricPoint]) -> list[tuple]:
    """One summary row per (run, key) in ``points``: last by step, min and max ignoring NaN."""
    acc: dict[tuple[str, str], list] = {}
    for p in points:
        row = acc.get((p.run_id, p.key))
        v = _stored(p.value)
        if row is None:
            acc[(p.run_id, p.key)] = [p.run_id, p.key, v, p.step, p.timestamp, v, p.step, v, p.step]
            continue
        if p.step > row[3]:
            row[2], row[3], row[4] = v, p.step, p.timestamp
        if v is not None:
            if row[5] is None or v < row[5]:
                row[5], row[6] = v, p.step
            if row[7] is None or v > row[7]:
                row[7], row[8] = v, p.step
    return [tuple(r) for r in acc.values()]


def write_points(conn: Connection, points: Sequence[MetricPoint]) -> None:
    """Insert ``points`` (a point already stored at its step is kept) and update summaries.

    Runs inside the caller's transaction; idempotent, so a retried batch never duplicates.
    """
    if not points:
        return
    raw = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        cur = raw.cursor()
        # MetricPoint's field order is the column order, and sqlite binds NaN as NULL.
        cur.executemany(_INSERT_SQLITE, points)
        inserted = cur.rowcount
        cur.close()
    else:
        inserted = _write_points_postgres(raw, points)
    if inserted != len(points):
        # Some points were not written: their step was already stored (a retried batch, a
        # step logged twice). Summarising the batch would count values the table does not
        # hold, so rebuild the touched summaries from what is stored.
        _rebuild_summaries(conn, {(p.run_id, p.key) for p in points})
        return
    summaries = summarise(points)
    if conn.dialect.name == "sqlite":
        cur = raw.cursor()
        cur.executemany(_SUMMARY_SQLITE, summaries)
        cur.close()
        return
    with raw.cursor() as cur:
        cur.executemany(_SUMMARY_PG, summaries)


def _rebuild_summaries(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    rows = []
    for run_id, key in sorted(keys):
        history = conn.execute(
            text("SELECT step, value, timestamp FROM metrics WHERE run_id = :r AND key = :k ORDER BY step"),
            {"r": run_id, "k": key},
        ).all()
        points = [
            MetricPoint(run_id, key, step, math.nan if value is None else value, ts) for step, value, ts in history
        ]
        rows.extend(summarise(points))
    names = (
        "run_id",
        "key",
        "last_value",
        "last_step",
        "last_timestamp",
        "min_value",
        "min_step",
        "max_value",
        "max_step",
    )
    conn.execute(text(_SUMMARY_REPLACE), [dict(zip(names, row, strict=True)) for row in rows])


def _write_points_postgres(raw, points: Sequence[MetricPoint]) -> int:  # type: ignore[no-untyped-def]
    """COPY ``points`` into the metrics table; returns how many were new."""
    from psycopg import errors as psycopg_errors  # only PostgreSQL stores need the driver

    data = _copy_text(points)
    # Fast path: COPY straight into the table. A step already stored (a retried batch, a
    # duplicate) makes it fail with a unique violation; only then pay for the staging path.
    with raw.cursor() as cur:
        try:
            with raw.transaction(), cur.copy("COPY metrics (run_id, key, step, value, timestamp) FROM STDIN") as copy:
                copy.write(data)
            return len(points)
        except psycopg_errors.UniqueViolation:
            pass
        # COPY into a per-transaction staging table, then INSERT ... ON CONFLICT DO NOTHING.
        # Within a batch the first point of a step wins, as on SQLite: ``arrival`` numbers the
        # rows as COPY reads them.
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS metrics_staging "
            "(run_id text, key text, step bigint, value double precision, timestamp bigint, arrival bigserial) "
            "ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY metrics_staging (run_id, key, step, value, timestamp) FROM STDIN") as copy:
            copy.write(data)
        cur.execute(
            "INSERT INTO metrics (run_id, key, step, value, timestamp) "
            "SELECT DISTINCT ON (run_id, key, step) run_id, key, step, value, timestamp "
            "FROM metrics_staging ORDER BY run_id, key, step, arrival ON CONFLICT DO NOTHING"
        )
        return cur.rowcount


_COPY_NULL = "\\N"


def _copy_text(points: Sequence[MetricPoint]) -> str:
    escaped: dict[str, str] = {}  # run ids and keys repeat across a batch; escape each once
    lines = []
    for run_id, key, step, value, ts in points:
        r = escaped.get(run_id) or escaped.setdefault(run_id, _copy_escape(run_id))
        k = escaped.get(key) or escaped.setdefault(key, _copy_escape(key))
        number = _COPY_NULL if value != value else repr(value)  # NaN is stored as NULL
        lines.append(f"{r}\t{k}\t{step}\t{number}\t{ts}\n")
    return "".join(lines)


def _copy_escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text
