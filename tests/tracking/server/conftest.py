"""Servers for the server's own tests: the app over a new SQLite store, under uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import serving
from tracking.auth.base import OPEN, Authorizer
from tracking.server import build_app
from tracking.store.sql_store import SqlStore


@dataclass
class AppServer:
    url: str
    store: SqlStore  # the server's own store: tests read what it holds without going through HTTP
    artifact_root: Path


Serve = Callable[..., AbstractContextManager[AppServer]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """``with serve(authorizer, max_body_bytes=...) as s``: a fresh server on its own SQLite file."""

    @contextmanager
    def start(authorizer: Authorizer = OPEN, name: str = "server", **options: int) -> Iterator[AppServer]:
        store = SqlStore(f"sqlite:///{tmp_path / (name + '.db')}")
        root = tmp_path / f"{name}-artifacts"
        try:
            with serving(build_app(store, authorizer, artifact_root=str(root), **options)) as url:
                yield AppServer(url, store, root)
        finally:
            store.close()

    return start


@pytest.fixture
def open_server(serve: Serve) -> Iterator[AppServer]:
    with serve(max_body_bytes=64 * 1024) as server:
        yield server
