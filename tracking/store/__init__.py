"""Stores behind the tracking client: the `Store` protocol and the one factory that opens a URI.

``open_store`` picks the backend from the URI's scheme: ``sqlite://`` and ``postgresql://``
open a `SqlStore`; ``http://`` and ``https://`` an `HttpStore` on a Sweeps server.
"""

from __future__ import annotations

from tracking.store.base import PointBatch, RunEnd, Store
from tracking.uri import is_http, resolve_store_uri

__all__ = ["PointBatch", "RunEnd", "Store", "open_store", "upgrade_store"]


def open_store(uri: str | None = None, *, upgrade: bool = False, token: str | None = None) -> Store:
    """The store at ``uri`` (``None``: ``$SWEEPS_STORE``, else ``sqlite:///sweeps.db``).

    ``upgrade``: migrate a store whose schema is older than the code instead of refusing it
    (a server's store is migrated by its owner). ``token``: a server's bearer token
    (None: ``$SWEEPS_TOKEN``); SQL stores take none.
    """
    resolved = resolve_store_uri(uri)  # raises InvalidURI for a scheme no backend serves
    if is_http(resolved):
        from tracking.store.http_store import HttpStore  # httpx only once a server is used

        return HttpStore(resolved, token=token)
    from tracking.store.sql_store import SqlStore  # SQLAlchemy only once a SQL store is opened

    return SqlStore(resolved, upgrade=upgrade)


def upgrade_store(uri: str | None = None) -> str:
    """Apply pending schema migrations to the store at ``uri`` (``sweeps db upgrade``); its resolved URI."""
    resolved = resolve_store_uri(uri)
    from tracking.store.sql_store import upgrade_schema

    upgrade_schema(resolved)
    return resolved
