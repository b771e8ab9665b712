"""Shared fixtures: a throwaway PostgreSQL server, a store per backend, and a client on it.

The store contract suite (tests/tracking/test_store_*.py) runs against every backend of
`BACKENDS`. A new backend (e.g. the HTTP server) joins with one `Backend` entry here and one
fixture giving the URI of an empty store of its kind; `tracking.store.open_store` opens it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracking
from tests.support import postgres
from tracking.store import Store, open_store

pytest_plugins = ["pytester"]  # tests of this infrastructure run inner pytest sessions

REQUIRE_POSTGRES_ENV = "SWEEPS_REQUIRE_POSTGRES"


@dataclass(frozen=True)
class Backend:
    """A store backend of the contract suite: its fixtures and pytest marks."""

    name: str
    uri_fixture: str  # gives the URI of a store holding no data
    fresh_uri_fixture: str  # gives the URI of a database with nothing in it, not even the schema
    marks: tuple[pytest.MarkDecorator, ...] = ()
    sql: bool = True  # a `SqlStore`: tests that reach into SQL (fault injection) run on it too


BACKENDS = (
    Backend("sqlite", "sqlite_uri", "sqlite_uri"),
    Backend("postgres", "postgres_uri", "fresh_postgres_uri", (pytest.mark.postgres,)),
)
_BY_NAME = {b.name: b for b in BACKENDS}
STORE_PARAMS = [pytest.param(b.name, id=b.name, marks=b.marks) for b in BACKENDS]
# For tests of the SQL store itself: ``@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)``.
SQL_STORE_PARAMS = [pytest.param(b.name, id=b.name, marks=b.marks) for b in BACKENDS if b.sql]


def postgres_required() -> bool:
    """In CI (``CI=true``) or with ``$SWEEPS_REQUIRE_POSTGRES`` set, PostgreSQL tests must run."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(REQUIRE_POSTGRES_ENV, "") not in ("", "0")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # A PostgreSQL test that skips, for whatever reason, fails where PostgreSQL is required:
    # a green CI run must mean the PostgreSQL store was exercised.
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    skipped = report.skipped and not hasattr(report, "wasxfail")  # an xfail reports as skipped too
    if skipped and item.get_closest_marker("postgres") is not None and postgres_required():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped where PostgreSQL is required (CI=true): {reason}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """One PostgreSQL server for the session: ``$SWEEPS_TEST_POSTGRES`` or a fresh initdb."""
    try:
        server = postgres.start()
    except postgres.PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_scratch(postgres_server: postgres.PostgresServer) -> str:
    """One database of the session that already holds the schema; emptied before each use."""
    uri = postgres_server.create_database("sweeps_scratch")
    tracking.connect(uri).close()
    return uri


@pytest.fixture
def postgres_uri(postgres_server: postgres.PostgresServer, postgres_scratch: str) -> str:
    """A PostgreSQL store holding no data (the session's scratch database, emptied).

    Emptying takes a tenth of the time of CREATE DATABASE; tests that need a database
    without even the schema, or that change the schema, use ``fresh_postgres_uri``.
    """
    postgres_server.empty_database(postgres_scratch)
    return postgres_scratch


@pytest.fixture
def fresh_postgres_uri(postgres_server: postgres.PostgresServer) -> str:
    """A new, empty database (no schema) on the session's server."""
    return postgres_server.create_database()


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=STORE_PARAMS)
def store_uri(request: pytest.FixtureRequest) -> str:
    """A URI of a store holding no data, per backend (SQLite: a new file; PostgreSQL: the emptied scratch database)."""
    return str(request.getfixturevalue(_BY_NAME[request.param].uri_fixture))


@pytest.fixture(params=STORE_PARAMS)
def fresh_store_uri(request: pytest.FixtureRequest) -> str:
    """A URI of a database with nothing in it, not even the schema: for schema and migration tests."""
    return str(request.getfixturevalue(_BY_NAME[request.param].fresh_uri_fixture))


@pytest.fixture
def artifact_root(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    """The empty store of ``store_uri``, opened through the one factory (the ``client`` fixture's store)."""
    opened = open_store(store_uri)
    try:
        yield opened
    finally:
        opened.close()  # the client closed it already, unless the test used no client


@pytest.fixture
def client(store: Store, artifact_root: Path) -> Iterator[tracking.TrackingClient]:
    """A client on ``store``: tests call the client, or the `Store` protocol on ``store``, never SQL."""
    c = tracking.connect(store=store, artifacts=str(artifact_root))
    try:
        yield c
    finally:
        c.close()
