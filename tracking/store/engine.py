"""Database engines for the store: write transactions, reads, transient-error retries.

Each dialect builds its own engine (`tracking.store.dialects`); every database error leaving
these helpers is already a `TrackingError` (`tracking.store.errors`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext

from tracking.errors import StoreError, StoreUnavailable
from tracking.store.dialects import dialect_for_uri
from tracking.store.dialects.base import WRITE_FLAG
from tracking.store.errors import database_errors, is_transient, reason, translated

T = TypeVar("T")

__all__ = [
    "RETRY_FOR_S",
    "STATEMENT_TIMEOUT",
    "is_transient",
    "make_engine",
    "read_connection",
    "where",
    "with_retries",
    "write_transaction",
]


# Execution option of a statement, in milliseconds: PostgreSQL cancels it (and what follows it
# in the same transaction) past that time, so a query whose caller is gone does not run on.
STATEMENT_TIMEOUT = "sweeps_statement_timeout_ms"


def make_engine(uri: str) -> Engine:
    """An engine for ``uri`` (already resolved by :func:`tracking.uri.resolve_store_uri`)."""
    engine = dialect_for_uri(uri).make_engine(uri)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _set_statement_timeout)
        event.listen(engine, "handle_error", _timed_out)
    return engine


def _set_statement_timeout(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
    timeout_ms = context.execution_options.get(STATEMENT_TIMEOUT) if context is not None else None
    if timeout_ms is not None:
        # LOCAL: for the rest of this transaction only; the connection goes back to the pool without it.
        cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")


def _timed_out(error: ExceptionContext) -> StoreError | None:
    """A statement we gave a timeout, cancelled by it (SQLSTATE 57014): say so, not the driver's text."""
    context = error.execution_context
    timeout_ms = context.execution_options.get(STATEMENT_TIMEOUT) if context is not None else None
    if timeout_ms is None or getattr(error.original_exception, "sqlstate", None) != "57014":
        return None
    return StoreError(
        f"store {error.engine.url if error.engine else '(unknown)'} cancelled the query: it ran past the "
        f"search time limit of {timeout_ms / 1000:g} s; narrow the filter (fewer conditions, or ones on "
        "attributes such as status or experiment) and search again"
    )


def where(engine: Engine) -> str:
    """The engine's URL for messages (SQLAlchemy renders the password as ``***``)."""
    return str(engine.url)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: commit on success, rollback on error (SQLite: BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        conn.info[WRITE_FLAG] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop(WRITE_FLAG, None)


# How long a write or a read keeps retrying a transient error (a busy SQLite file, a PostgreSQL
# restart or a short outage) before giving up with `StoreUnavailable`: a fast restart takes a
# few seconds, a stopped and restarted server tens of seconds.
RETRY_FOR_S = 60.0
_MAX_DELAY_S = 2.0  # the longest pause between two attempts


@contextmanager
def read_connection(engine: Engine, *, retry_for_s: float = RETRY_FOR_S) -> Iterator[Connection]:
    """A connection in a read transaction; database errors leave it as tracking errors.

    Getting the connection is retried while the database is unreachable (a read cannot be
    retried once the caller's block has run, so only the connect is).
    """
    with translated(where(engine)):
        conn = _retrying(lambda: engine.connect(), engine, retry_for_s)
        with conn, conn.begin():
            yield conn


def with_retries(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    retry_for_s: float = RETRY_FOR_S,
    base_delay_s: float = 0.05,
) -> T:
    """Run ``work`` in a write transaction, retrying transient errors with jittered backoff
    for up to ``retry_for_s`` seconds (at least twice).

    ``work`` must be idempotent for the retry to be safe; the store's writes are (inserts
    ignore rows that already exist). Database errors leave it as tracking errors.
    """

    def attempt() -> T:
        with write_transaction(engine) as conn:
            return work(conn)

    with translated(where(engine)):
        return _retrying(attempt, engine, retry_for_s, base_delay_s)


def _retrying(call: Callable[[], T], engine: Engine, retry_for_s: float, base_delay_s: float = 0.05) -> T:
    deadline = time.monotonic() + retry_for_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except database_errors() as exc:
            if not is_transient(exc):
                raise
            # Backoff before the next attempt; jitter spreads competing writers apart.
            delay = min(_MAX_DELAY_S, base_delay_s * (2 ** min(attempt - 1, 16))) * (0.5 + random.random())
            if attempt > 1 and time.monotonic() + delay > deadline:
                raise StoreUnavailable(
                    f"store {where(engine)} stayed unavailable for {retry_for_s:g}s ({attempt} attempts): {reason(exc)}"
                ) from exc
            time.sleep(delay)
