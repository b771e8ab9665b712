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

from sqlalchemy import Connection, Engine

from tracking.errors import StoreUnavailable
from tracking.store.dialects import dialect_for_uri
from tracking.store.dialects.base import WRITE_FLAG
from tracking.store.errors import database_errors, is_transient, reason, translated

T = TypeVar("T")

__all__ = ["is_transient", "make_engine", "read_connection", "where", "with_retries", "write_transaction"]


def make_engine(uri: str) -> Engine:
    """An engine for ``uri`` (already resolved by :func:`tracking.uri.resolve_store_uri`)."""
    return dialect_for_uri(uri).make_engine(uri)


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


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction; database errors leave it as tracking errors."""
    with translated(where(engine)), engine.connect() as conn, conn.begin():
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
    ignore rows that already exist). Database errors leave it as tracking errors.
    """
    with translated(where(engine)):
        for attempt in range(1, attempts + 1):
            try:
                with write_transaction(engine) as conn:
                    return work(conn)
            except database_errors() as exc:
                if not is_transient(exc):
                    raise
                if attempt == attempts:
                    raise StoreUnavailable(
                        f"store {where(engine)} stayed unavailable after {attempts} attempts: {reason(exc)}"
                    ) from exc
                # Backoff before the next attempt; jitter spreads competing writers apart.
                time.sleep(base_delay_s * (2 ** (attempt - 1)) * (0.5 + random.random()))
    raise AssertionError("unreachable")
