"""What a SQL dialect of the store provides: engines, locks, placeholders and the point writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Table
    from sqlalchemy.sql.dml import Insert

    from tracking.point_block import SummaryRow
    from tracking.store.metric_writer import Segment, SeriesIds


class Dialect(Protocol):
    """One database's way of doing what the store needs; stateless, shared by every store."""

    name: str  # SQLAlchemy's dialect name
    # Whether the database takes one writer at a time (the store then queues its writers).
    single_writer: bool
    # How many sink writer threads gain from writing at once.
    sink_writers: int

    def make_engine(self, uri: str) -> Engine:
        """An engine for a resolved URI of this dialect, with its connection settings."""
        ...

    def driver_sql(self, sql: str) -> str:
        """``sql`` written with ``?`` placeholders, in the driver's placeholder style."""
        ...

    def lock_migrations(self, conn: Connection) -> None:
        """Serialise schema creation and migration between processes (inside ``conn``'s transaction)."""
        ...

    def insert_ignore(self, table: Table) -> Insert:
        """An INSERT into ``table`` that skips rows whose unique key already exists."""
        ...

    def upsert_summaries(self, raw: object, summaries: Sequence[SummaryRow]) -> SeriesIds:
        """Merge ``summaries`` into ``metric_summaries`` on the driver connection; their series ids."""
        ...

    def insert_points(self, raw: object, segments: Sequence[Segment], series: SeriesIds) -> int:
        """Insert the segments' points (a step already stored is kept); how many were new."""
        ...


# Set in a connection's ``info`` for the length of a write transaction (see
# `tracking.store.engine.write_transaction`): SQLite then begins it IMMEDIATE.
WRITE_FLAG = "sweeps_write"
