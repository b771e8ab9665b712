"""SQLite: pragmas, one writer at a time (BEGIN IMMEDIATE), executemany for points and summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from tracking.point_block import PointBlock, SummaryRow
from tracking.store.dialects.base import WRITE_FLAG
from tracking.store.metric_writer import SUMMARY_UPSERT, Segment, SeriesIds, series_of_keys

SQLITE_BUSY_TIMEOUT_MS = 30_000

_SUMMARY = SUMMARY_UPSERT.format(rows=f"VALUES ({', '.join('?' * 9)})")
_INSERT = "INSERT OR IGNORE INTO metrics (series_id, step, value, timestamp) VALUES (?, ?, ?, ?)"


class SQLiteDialect:
    """The embedded store: one file, one writer at a time, readers alongside (WAL)."""

    name = "sqlite"
    single_writer = True
    sink_writers = 1

    def make_engine(self, uri: str) -> Engine:
        in_memory = uri in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            uri,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            # Pooled: opening a connection and setting its pragmas costs more than a whole
            # batch insert. Processes never inherit the pool (Ray and our tests spawn).
            # In-memory: one connection shared by every thread (the sink's writer included),
            # or each thread would see its own empty database.
            **({"poolclass": StaticPool} if in_memory else {"pool_size": 8, "max_overflow": 16}),
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy's "begin" event issue BEGIN, so writers can ask for IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not in_memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A deferred transaction that later upgrades to a write lock fails at once with
            # SQLITE_BUSY instead of waiting; writers take the lock up front.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(WRITE_FLAG) else "BEGIN")

        return engine

    def driver_sql(self, sql: str) -> str:
        return sql

    def lock_migrations(self, conn: Connection) -> None:
        pass  # a write transaction already holds BEGIN IMMEDIATE's lock

    def insert_ignore(self, table: Table) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing()

    def upsert_summaries(self, raw, summaries: Sequence[SummaryRow]) -> SeriesIds:  # type: ignore[no-untyped-def]
        cur = raw.cursor()
        try:
            cur.executemany(_SUMMARY, summaries)
            touched = {(row[0], row[1]) for row in summaries}
            series: SeriesIds = {}
            for run_id in {run_id for run_id, _ in touched}:
                cur.execute("SELECT key, series_id FROM metric_summaries WHERE run_id = ?", (run_id,))
                series.update(((run_id, key), sid) for key, sid in cur.fetchall() if (run_id, key) in touched)
            return series
        finally:
            cur.close()

    def insert_points(self, raw, segments: Sequence[Segment], series: SeriesIds) -> int:  # type: ignore[no-untyped-def]
        cur = raw.cursor()
        try:
            # sqlite binds NaN as NULL.
            cur.executemany(_INSERT, chain.from_iterable(_rows(seg, series) for seg in segments))
            return cur.rowcount
        finally:
            cur.close()

    def __repr__(self) -> str:
        return "SQLITE"


def _rows(seg: Segment, series: SeriesIds) -> Iterable[tuple]:
    if type(seg) is not PointBlock:
        return ((series[p.run_id, p.key], p.step, p.value, p.timestamp) for p in seg)
    ids = series_of_keys(seg, series).tolist()
    return zip(
        [ids[k] for k in seg.key_index.tolist()],
        seg.steps.tolist(),
        seg.values.tolist(),
        seg.timestamps.tolist(),
        strict=True,
    )


SQLITE = SQLiteDialect()
