"""Database engines for the store: SQLite pragmas, write transactions, transient-error retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from tracking.errors import StoreUnavailable
from tracking.uri import is_sqlite, mask_password

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_FLAG = "sweeps_write"


def make_engine(uri: str) -> Engine:
    """An engine for ``uri`` (already resolved by :func:`tracking.uri.resolve_store_uri`)."""
    if is_sqlite(uri):
        return _sqlite_engine(uri)
    return create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10, future=True)


def _sqlite_engine(uri: str) -> Engine:
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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_WRITE_FLAG) else "BEGIN")

    return engine


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: SQLite busy/locked, a dropped or refused PostgreSQL connection."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | DBAPIError):
        return False
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        marker in text
        for marker in (
            "database is locked",
            "database is busy",
            "deadlock detected",
            "could not serialize",
            "server closed the connection",
            "connection refused",
            "terminating connection",
            "connection reset",
            "consuming input failed",
            "the connection is lost",
            "ssl syscall",
        )
    )


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: commit on success, rollback on error (SQLite: BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        conn.info[_WRITE_FLAG] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop(_WRITE_FLAG, None)


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def with_retries(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    attempts: int = 8,
    base_delay_s: float = 0.05,
) -> T:
    """Run ``work`` in a write transaction, retrying transient errors with jittered backoff.

    ``work`` must be idempotent for the retry to be safe; the store's writes are (inserts
    ignore rows that already exist).
    """
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(engine) as conn:
                return work(conn)
        except DBAPIError as exc:
            if not is_transient(exc) or attempt == attempts:
                if is_transient(exc):
                    raise StoreUnavailable(
                        f"store {mask_password(str(engine.url))} stayed unavailable after "
                        f"{attempts} attempts: {exc.orig}"
                    ) from exc
                raise
            # Backoff before the next attempt; jitter spreads competing writers apart.
            time.sleep(base_delay_s * (2 ** (attempt - 1)) * (0.5 + random.random()))
    raise AssertionError("unreachable")
