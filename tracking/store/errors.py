"""Database errors become tracking errors at the store boundary, in one place.

SQLAlchemy's, sqlite3's and psycopg's exceptions never leave a store method: each becomes the
most specific `TrackingError` (`StoreUnavailable` when the database cannot be reached or
stays locked, else `StoreError`), chained ``from`` the original, with a message that names the
store and the database's reason but neither the statement nor a password.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from tracking.errors import StoreError, StoreUnavailable, TrackingError
from tracking.uri import mask_password

# Lower-case fragments of the errors worth retrying: busy/locked SQLite, a dropped or refused
# PostgreSQL connection, a server restarting or in recovery, a deadlock or serialisation failure.
_TRANSIENT = (
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
    "the connection is closed",
    "ssl syscall",
    "could not receive data from server",
    "could not send data to server",
    "no connection to the server",
    # PostgreSQL while `pg_ctl restart` or a failover runs: the server is there but refuses work.
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
)
# SQLSTATEs worth retrying: connection exceptions (class 08), the server shutting down or not
# ready yet (57P01-57P03), serialisation failure and deadlock (40001, 40P01). A statement
# timeout (57014) is not: the same query would time out again.
_TRANSIENT_SQLSTATE_CLASSES = ("08",)
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01"})
# A full disk: not retried (it stays full), said as such.
_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")
# Fragments of errors meaning the database itself cannot be used right now.
_UNAVAILABLE = (
    *_TRANSIENT,
    "unable to open database file",
    "connection failed",
    "could not connect",
    "password authentication failed",
    "too many connections",
    "disk i/o error",
    "readonly database",
)


def database_errors() -> tuple[type[BaseException], ...]:
    """The exception types of SQLAlchemy and of the database drivers loaded in this process."""
    psycopg = sys.modules.get("psycopg")  # not loaded: none of its errors can be raised
    errors: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error)
    return (*errors, psycopg.Error) if psycopg is not None else errors


def reason(exc: BaseException) -> str:
    """The database's own one-line reason for ``exc``: no statement, no parameters, no password."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).split("[SQL:", 1)[0].strip()
    first = text.splitlines()[0].strip() if text else ""
    return mask_password(first or type(orig).__name__)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: SQLite busy/locked, a dropped or refused PostgreSQL connection,
    a PostgreSQL server shutting down, starting up or in recovery."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, database_errors()):
        return False
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and (state in _TRANSIENT_SQLSTATES or state.startswith(_TRANSIENT_SQLSTATE_CLASSES)):
        return True
    text = str(orig).lower()
    return any(marker in text for marker in _TRANSIENT)


def store_error(exc: BaseException, where: str) -> StoreError:
    """The tracking error for a database error raised while working on the store ``where``."""
    why = reason(exc)
    lowered = str(exc.orig if isinstance(exc, DBAPIError) else exc).lower()
    if any(m in lowered for m in _FULL):
        return StoreError(
            f"no space left on the device holding the store {mask_password(where)} ({why}); "
            "free some there, then resume"
        )
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or any(m in lowered for m in _UNAVAILABLE):
        return StoreUnavailable(f"store {mask_password(where)} is unavailable: {why}")
    return StoreError(f"store {mask_password(where)} failed: {why} ({type(exc).__name__})")


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Turn every database error raised inside the block into a `TrackingError` (see `store_error`)."""
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        if not isinstance(exc, database_errors()):
            raise
        raise store_error(exc, where) from exc


def is_integrity_error(exc: BaseException) -> bool:
    """A constraint violation (a duplicate key), raised through SQLAlchemy or straight by the driver."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.IntegrityError):
        return True
    return isinstance(exc, IntegrityError | sqlite3.IntegrityError)
