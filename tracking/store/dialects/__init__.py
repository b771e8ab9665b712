"""The SQL dialects of the store: every difference between SQLite and PostgreSQL, one object each.

The store picks its dialect once, from the URI or the engine, and asks it; no other module
of the store branches on the database's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracking.store.dialects.base import Dialect
from tracking.store.dialects.postgresql import POSTGRESQL
from tracking.store.dialects.sqlite import SQLITE
from tracking.uri import is_sqlite

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["POSTGRESQL", "SQLITE", "Dialect", "dialect_for", "dialect_for_uri"]

_BY_NAME: dict[str, Dialect] = {SQLITE.name: SQLITE, POSTGRESQL.name: POSTGRESQL}


def dialect_for_uri(uri: str) -> Dialect:
    """The dialect of a resolved store URI (see `tracking.uri.resolve_store_uri`)."""
    return SQLITE if is_sqlite(uri) else POSTGRESQL


def dialect_for(bind: Engine | Connection) -> Dialect:
    """The dialect of an engine or a connection."""
    return _BY_NAME[bind.dialect.name]
