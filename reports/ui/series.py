"""A metric series for a chart: read straight into arrays, downsampled keeping each bucket's min and max.

A chart of N buckets shows every spike: the lowest and the highest point of each bucket are
kept (in step order), plus the first and last point of the range. Zooming asks again for the
visible range only, which at some width comes back whole. On SQLite the buckets are found
in SQL (a primary-key range per bucket); elsewhere the points are read into arrays and bucketed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, select, text

from tracking.store import schema as t
from tracking.store.engine import read_connection
from tracking.store.sql_store import SqlStore

DEFAULT_BUCKETS = 1_000  # ~2,000 points: more than a chart's width in pixels


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    steps: np.ndarray
    values: np.ndarray
    total: int  # points stored in the requested range
    first_step: int | None  # of the whole series
    last_step: int | None

    @property
    def downsampled(self) -> bool:
        return len(self.steps) < self.total


def read_points(
    store: SqlStore, run_id: str, key: str, lo: int | None = None, hi: int | None = None
) -> tuple[np.ndarray, np.ndarray, int | None, int | None]:
    """(steps, values) of one series in [lo, hi], in step order, and the whole series' first/last step."""
    s, m = t.metric_summaries.c, t.metrics.c
    with read_connection(store.engine) as conn:
        found = conn.execute(select(s.series_id, s.last_step).where(and_(s.run_id == run_id, s.key == key))).first()
        if found is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0), None, None
        series_id, last_step = int(found[0]), int(found[1])
        first_step = conn.execute(select(m.step).where(m.series_id == series_id).order_by(m.step).limit(1)).scalar()
        stmt = select(m.step, m.value).where(m.series_id == series_id)
        if lo is not None:
            stmt = stmt.where(m.step >= lo)
        if hi is not None:
            stmt = stmt.where(m.step <= hi)
        # The driver's cursor, not ORM rows: a million points must read in well under a second.
        compiled = stmt.order_by(m.step).compile(conn.engine, compile_kwargs={"literal_binds": True})
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(str(compiled))
            rows = cursor.fetchall()
        finally:
            cursor.close()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0), first_step, last_step
    data = np.array(rows, dtype=float).reshape(-1, 2)  # SQL NULL (a stored NaN) reads as nan
    return data[:, 0].astype(np.int64), data[:, 1], first_step, last_step


def downsample(steps: np.ndarray, values: np.ndarray, buckets: int = DEFAULT_BUCKETS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``2 * buckets + 2`` points: each bucket's min and max (in step order), first and last."""
    n = len(steps)
    if n <= 2 * buckets + 2:
        return steps, values
    lo, hi = float(steps[0]), float(steps[-1])
    bucket = np.minimum(((steps - lo) / (hi - lo) * buckets).astype(np.int64), buckets - 1)
    finite = np.isfinite(values)
    # Sort by (bucket, value): each bucket's first finite entry is its min, its last finite one its max.
    ranked = np.where(finite, values, np.inf)
    order = np.lexsort((ranked, bucket))
    sorted_bucket = bucket[order]
    starts = np.flatnonzero(np.r_[True, sorted_bucket[1:] != sorted_bucket[:-1]])
    counts_finite = np.add.reduceat(finite[order].astype(np.int64), starts)
    mins = order[starts]
    maxs = order[starts + np.maximum(counts_finite, 1) - 1]
    keep = np.unique(np.concatenate([[0, n - 1], mins, maxs]))
    return steps[keep], values[keep]


# Per bucket: the step of its lowest value, and the step of its highest with the bucket's count
# ("step,count": a scalar subquery has one column). With a single min() or max() in a query,
# SQLite's bare column comes from that row; the counts add up to the range's total, so no pass of
# its own counts a million points.
_PER_BUCKET = """
WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i + 1 < :nb)
SELECT (SELECT step FROM (SELECT step, min(value) FROM metrics WHERE series_id = :sid
          AND step >= :first + (i * :span) / :nb AND step < :first + ((i + 1) * :span) / :nb)),
       (SELECT step || ',' || n FROM (SELECT step, max(value), count(*) AS n FROM metrics WHERE series_id = :sid
          AND step >= :first + (i * :span) / :nb AND step < :first + ((i + 1) * :span) / :nb))
FROM b
"""


def _sqlite_buckets(
    store: SqlStore, series_id: int, lo: int, hi: int, buckets: int
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Each bucket's min and max found by SQLite itself, one primary-key range per bucket (its
    min()/max() rows carry their step): a million points never become Python objects.
    None when the range is small enough to send whole."""
    bounds = {"sid": series_id, "lo": lo, "hi": hi, "whole": 2 * buckets + 3}
    in_range = "FROM metrics WHERE series_id = :sid AND step BETWEEN :lo AND :hi"
    with read_connection(store.engine) as conn:
        # Whether there is more than a chart's worth, counting no further than that.
        enough = conn.execute(text(f"SELECT count(*) FROM (SELECT 1 {in_range} LIMIT :whole)"), bounds).scalar()
        if not enough or enough < bounds["whole"]:
            return None
        # Two primary-key seeks (one min() and one max() in one query would scan the range).
        first = conn.execute(text(f"SELECT min(step) {in_range}"), bounds).scalar()
        last = conn.execute(text(f"SELECT max(step) {in_range}"), bounds).scalar()
        span = int(last) - int(first) + 1
        args = {"sid": series_id, "nb": buckets, "first": int(first), "span": span}
        picked = {int(first), int(last)}
        total = 0
        for low_step, high in conn.execute(text(_PER_BUCKET), args):
            if low_step is not None:
                picked.add(int(low_step))
            if high is not None:
                high_step, count = str(high).split(",")
                picked.add(int(high_step))
                total += int(count)
        steps = sorted(picked)
        found: dict[int, float | None] = {}
        for part in range(0, len(steps), 500):
            chunk = steps[part : part + 500]
            rows = conn.execute(
                select(t.metrics.c.step, t.metrics.c.value).where(
                    and_(t.metrics.c.series_id == series_id, t.metrics.c.step.in_(chunk))
                )
            )
            found.update((int(step), value) for step, value in rows)
    values = np.array([found.get(x) for x in steps], dtype=float)  # a stored NaN (NULL) reads as nan
    return np.array(steps, dtype=np.int64), values, int(total)


def series(
    store: SqlStore,
    run_id: str,
    key: str,
    lo: int | None = None,
    hi: int | None = None,
    buckets: int = DEFAULT_BUCKETS,
) -> Series:
    if store.engine.dialect.name == "sqlite":
        s = t.metric_summaries.c
        with read_connection(store.engine) as conn:
            found = conn.execute(select(s.series_id, s.last_step).where(and_(s.run_id == run_id, s.key == key))).first()
            first = None
            if found is not None:
                first = conn.execute(
                    select(t.metrics.c.step)
                    .where(t.metrics.c.series_id == found[0])
                    .order_by(t.metrics.c.step)
                    .limit(1)
                ).scalar()
        if found is not None:
            low, high = -(2**62) if lo is None else lo, 2**62 if hi is None else hi
            bucketed = _sqlite_buckets(store, int(found[0]), low, high, buckets)
            if bucketed is not None:
                return Series(key, bucketed[0], bucketed[1], bucketed[2], first, int(found[1]))
    steps, values, first_step, last_step = read_points(store, run_id, key, lo, hi)
    shown_steps, shown_values = downsample(steps, values, buckets)
    return Series(key, shown_steps, shown_values, len(steps), first_step, last_step)
