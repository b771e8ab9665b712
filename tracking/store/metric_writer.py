"""The hot path: write a batch of metric points and point blocks, and their summaries, in one transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat

import numpy as np
from sqlalchemy import Connection, text

from tracking.entities import MetricPoint
from tracking.point_block import PointBlock, SummaryRow
from tracking.store import pg_copy

Segment = list[MetricPoint] | PointBlock  # loose points between blocks, or one block

_SUMMARY_UPSERT = """
INSERT INTO metric_summaries AS s (run_id, key, last_value, last_step, last_timestamp,
                                   min_value, min_step, max_value, max_step)
{rows}
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

_SUMMARY_SQLITE = _SUMMARY_UPSERT.format(rows=f"VALUES ({', '.join('?' * 9)})")
# PostgreSQL: every row of a batch in one statement (columns as arrays), not one per row.
_SUMMARY_PG = _SUMMARY_UPSERT.format(
    rows="SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::int8[], %s::int8[],"
    " %s::float8[], %s::int8[], %s::float8[], %s::int8[])"
)
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


def write_points(conn: Connection, batch: Sequence[MetricPoint | PointBlock]) -> None:
    """Insert the points of ``batch`` (a point already stored at its step is kept) and update summaries.

    Runs inside the caller's transaction; idempotent, so a retried batch never duplicates.
    Python work is per loose point but only per key of each block.
    """
    segments = _segments(batch)
    if not segments:
        return
    raw = conn.connection.driver_connection
    total = sum(len(s) for s in segments)
    sqlite = conn.dialect.name == "sqlite"
    inserted = _insert_sqlite(raw, segments) if sqlite else _write_postgres(raw, segments)
    if inserted != total:
        # Some points were not written: their step was already stored (a retried batch, a
        # step logged twice). Summarising the batch would count values the table does not
        # hold, so rebuild the touched summaries from what is stored.
        _rebuild_summaries(conn, _touched(segments))
        return
    summaries = _summaries(segments)
    if sqlite:
        cur = raw.cursor()
        cur.executemany(_SUMMARY_SQLITE, summaries)
        cur.close()
        return
    if not summaries:
        return
    # Sorted: two transactions updating summaries take their row locks in the same order.
    columns = [list(column) for column in zip(*sorted(summaries), strict=True)]
    with raw.cursor() as cur:
        cur.execute(_SUMMARY_PG, columns)


def _segments(batch: Sequence[MetricPoint | PointBlock]) -> list[Segment]:
    """The batch cut into runs of loose points and single blocks, in arrival order."""
    segments: list[Segment] = []
    loose: list[MetricPoint] = []
    for item in batch:
        if type(item) is PointBlock:
            if loose:
                segments.append(loose)
                loose = []
            if len(item):
                segments.append(item)
        else:
            loose.append(item)  # type: ignore[arg-type]
    if loose:
        segments.append(loose)
    return segments


def _touched(segments: Sequence[Segment]) -> set[tuple[str, str]]:
    touched: set[tuple[str, str]] = set()
    for seg in segments:
        if type(seg) is PointBlock:
            touched.update((seg.run_id, k) for k in seg.keys)
        else:
            touched.update((p.run_id, p.key) for p in seg)
    return touched


def _summaries(segments: Sequence[Segment]) -> list[SummaryRow]:
    """Per (run, key), the summary of all segments, merged in arrival order."""
    merged: dict[tuple[str, str], SummaryRow] = {}
    for seg in segments:
        rows = seg.summaries() if type(seg) is PointBlock else summarise(seg)
        for row in rows:
            at = (row[0], row[1])
            earlier = merged.get(at)
            merged[at] = row if earlier is None else _merge(earlier, row)
    return list(merged.values())


def _merge(a: SummaryRow, b: SummaryRow) -> SummaryRow:
    """The summary of a's points followed by b's, with `summarise`'s rules (the first point wins ties)."""
    last = b[2:5] if b[3] > a[3] else a[2:5]
    low = b[5:7] if b[5] is not None and (a[5] is None or b[5] < a[5]) else a[5:7]
    high = b[7:9] if b[7] is not None and (a[7] is None or b[7] > a[7]) else a[7:9]
    return (a[0], a[1], *last, *low, *high)  # type: ignore[return-value]


def _insert_sqlite(raw, segments: Sequence[Segment]) -> int:  # type: ignore[no-untyped-def]
    cur = raw.cursor()
    try:
        # MetricPoint's field order is the column order, and sqlite binds NaN as NULL.
        cur.executemany(_INSERT_SQLITE, chain.from_iterable(map(_sqlite_rows, segments)))
        return cur.rowcount
    finally:
        cur.close()


def _sqlite_rows(seg: Segment) -> Iterable[tuple]:
    if type(seg) is not PointBlock:
        return seg
    keys = seg.keys
    return zip(
        repeat(seg.run_id),
        [keys[k] for k in seg.key_index.tolist()],
        seg.steps.tolist(),
        seg.values.tolist(),
        seg.timestamps.tolist(),
    )


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


def _write_postgres(raw, segments: Sequence[Segment]) -> int:  # type: ignore[no-untyped-def]
    """COPY the segments into the metrics table (binary format); returns how many points were new."""
    from psycopg import errors as psycopg_errors  # only PostgreSQL stores need the driver

    total = sum(len(s) for s in segments)
    parts = list(_blocks(segments))
    with raw.cursor() as cur:
        # Fast path: COPY straight into the table. A step already stored (a retried batch, a
        # duplicate) makes it fail with a unique violation; only then pay for the staging path.
        # A block known to repeat a step would fail for sure: skip the attempt.
        if not any(block.has_repeats() for block, _ in parts):
            try:
                with raw.transaction(), cur.copy(pg_copy.COPY_METRICS) as copy:
                    for chunk in pg_copy.encode([(block, None) for block, _ in parts]):
                        copy.write(chunk)
                return total
            except psycopg_errors.UniqueViolation:
                pass
        # COPY into a per-transaction staging table, then INSERT ... ON CONFLICT DO NOTHING.
        # Within a batch the first point of a step wins, as on SQLite: rows are encoded grouped
        # by key, so each carries its ``arrival`` number in the batch.
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS metrics_staging "
            "(run_id text, key text, step bigint, value double precision, timestamp bigint, arrival bigserial) "
            "ON COMMIT DELETE ROWS"
        )
        with cur.copy(pg_copy.COPY_STAGING) as copy:
            for chunk in pg_copy.encode(parts):
                copy.write(chunk)
        cur.execute(
            "INSERT INTO metrics (run_id, key, step, value, timestamp) "
            "SELECT DISTINCT ON (run_id, key, step) run_id, key, step, value, timestamp "
            "FROM metrics_staging ORDER BY run_id, key, step, arrival ON CONFLICT DO NOTHING"
        )
        return cur.rowcount


def _blocks(segments: Sequence[Segment]) -> Iterator[tuple[PointBlock, np.ndarray]]:
    """Every segment as blocks (loose points: one per run), with each point's arrival number."""
    base = 0
    for seg in segments:
        if type(seg) is PointBlock:
            yield seg, np.arange(base, base + len(seg))
        else:
            by_run: dict[str, list[int]] = {}
            for i, p in enumerate(seg):
                by_run.setdefault(p.run_id, []).append(i)
            for rows in by_run.values():
                yield PointBlock.from_points([seg[i] for i in rows]), base + np.array(rows)
        base += len(seg)
