"""The hot path: write a batch of metric points and point blocks, and their summaries, in one transaction.

What differs between databases (the summary upsert, the point insert) is the dialect's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, text

from tracking.entities import MetricPoint
from tracking.point_block import PointBlock, SummaryRow

if TYPE_CHECKING:
    from tracking.store.dialects import Dialect

Segment = list[MetricPoint] | PointBlock  # loose points between blocks, or one block

SUMMARY_UPSERT = """
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

_SUMMARY_REPLACE = """
UPDATE metric_summaries SET
  last_value = :last_value, last_step = :last_step, last_timestamp = :last_timestamp,
  min_value = :min_value, min_step = :min_step, max_value = :max_value, max_step = :max_step
WHERE series_id = :series_id
"""

SeriesIds = dict[tuple[str, str], int]  # (run id, key) -> series id


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


def write_points(conn: Connection, batch: Sequence[MetricPoint | PointBlock], dialect: Dialect) -> None:
    """Insert the points of ``batch`` (a point already stored at its step is kept) and update summaries.

    Runs inside the caller's transaction; idempotent, so a retried batch never duplicates.
    Python work is per loose point but only per key of each block.
    """
    segments = _segments(batch)
    if not segments:
        return
    raw = conn.connection.driver_connection
    # Summaries first: upserting them creates the series the points refer to.
    series = dialect.upsert_summaries(raw, _summaries(segments))
    total = sum(len(s) for s in segments)
    inserted = dialect.insert_points(raw, segments, series)
    if inserted != total:
        # Some points were not written: their step was already stored (a retried batch, a
        # step logged twice). The summaries just upserted count values the table does not
        # hold, so rebuild them from what is stored.
        _rebuild_summaries(conn, series)


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


def series_of_keys(block: PointBlock, series: SeriesIds) -> np.ndarray:
    """The series id of each of ``block.keys`` (0 for a key none of its points use)."""
    run = block.run_id
    return np.array([series.get((run, key), 0) for key in block.keys], np.int64)


def _rebuild_summaries(conn: Connection, series: SeriesIds) -> None:
    rows = []
    for (run_id, key), sid in sorted(series.items(), key=lambda item: item[1]):
        history = conn.execute(
            text("SELECT step, value, timestamp FROM metrics WHERE series_id = :s ORDER BY step"), {"s": sid}
        ).all()
        points = [
            MetricPoint(run_id, key, step, math.nan if value is None else value, ts) for step, value, ts in history
        ]
        (summary,) = summarise(points)
        rows.append(dict(zip(_SUMMARY_NAMES, (sid, *summary[2:]), strict=True)))
    conn.execute(text(_SUMMARY_REPLACE), rows)


_SUMMARY_NAMES = (
    "series_id",
    "last_value",
    "last_step",
    "last_timestamp",
    "min_value",
    "min_step",
    "max_value",
    "max_step",
)
