"""PostgreSQL: an advisory lock for migrations, array upserts and binary COPY for points."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, Table, create_engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert

from tracking.point_block import PointBlock, SummaryRow
from tracking.store import pg_copy
from tracking.store.metric_writer import SUMMARY_UPSERT, Segment, SeriesIds, series_of_keys

MIGRATION_LOCK = 727274  # the advisory lock key that serialises schema changes

# Every row of a batch in one statement (columns as arrays), not one per row, returning the
# series ids that the points are written with.
_SUMMARY = (
    SUMMARY_UPSERT.format(
        rows="SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::int8[], %s::int8[],"
        " %s::float8[], %s::int8[], %s::float8[], %s::int8[])"
    )
    + " RETURNING run_id, key, series_id"
)


class PostgreSQLDialect:
    """The shared store: many writers at once, row locks taken in a fixed order."""

    name = "postgresql"
    single_writer = False
    # A server gains from a second connection loading other runs while the first waits on its COPY.
    sink_writers = 2

    def make_engine(self, uri: str) -> Engine:
        return create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10, future=True)

    def driver_sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def lock_migrations(self, conn: Connection) -> None:
        # Transaction-scoped: released by the commit or rollback of the migration.
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")

    def insert_ignore(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def upsert_summaries(self, raw, summaries: Sequence[SummaryRow]) -> SeriesIds:  # type: ignore[no-untyped-def]
        # Sorted: two transactions updating summaries take their row locks in the same order.
        columns = [list(column) for column in zip(*sorted(summaries), strict=True)]
        with raw.cursor() as cur:
            cur.execute(_SUMMARY, columns)
            return {(run_id, key): sid for run_id, key, sid in cur.fetchall()}

    def insert_points(self, raw, segments: Sequence[Segment], series: SeriesIds) -> int:  # type: ignore[no-untyped-def]
        """COPY the segments into the metrics table (binary format); returns how many points were new."""
        from psycopg import errors as psycopg_errors  # only PostgreSQL stores need the driver

        total = sum(len(s) for s in segments)
        parts = [(block, series_of_keys(block, series), arrival) for block, arrival in _blocks(segments)]
        with raw.cursor() as cur:
            # Fast path: COPY straight into the table. A step already stored (a retried batch, a
            # duplicate) makes it fail with a unique violation; only then pay for the staging path.
            # A block known to repeat a step would fail for sure: skip the attempt.
            if not any(block.has_repeats() for block, _, _ in parts):
                try:
                    with raw.transaction(), cur.copy(pg_copy.COPY_METRICS) as copy:
                        for chunk in pg_copy.encode([(block, ids, None) for block, ids, _ in parts]):
                            copy.write(chunk)
                    return total
                except psycopg_errors.UniqueViolation:
                    pass
            # COPY into a per-transaction staging table, then INSERT ... ON CONFLICT DO NOTHING.
            # Within a batch the first point of a step wins, as on SQLite: rows are encoded grouped
            # by key, so each carries its ``arrival`` number in the batch.
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS metrics_staging "
                "(series_id bigint, step bigint, value double precision, timestamp bigint, arrival bigint) "
                "ON COMMIT DELETE ROWS"
            )
            with cur.copy(pg_copy.COPY_STAGING) as copy:
                for chunk in pg_copy.encode(parts):
                    copy.write(chunk)
            cur.execute(
                "INSERT INTO metrics (series_id, step, value, timestamp) "
                "SELECT DISTINCT ON (series_id, step) series_id, step, value, timestamp "
                "FROM metrics_staging ORDER BY series_id, step, arrival ON CONFLICT DO NOTHING"
            )
            return cur.rowcount

    def __repr__(self) -> str:
        return "POSTGRESQL"


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


POSTGRESQL = PostgreSQLDialect()
