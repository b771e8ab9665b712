"""Shared fixtures: a throwaway PostgreSQL server, a store per backend, and a client on it.

The store contract suite (tests/tracking/test_store_*.py) runs against every backend of
`BACKENDS`. A new backend joins with one `Backend` entry here and one fixture giving the URI
of an empty store of its kind; `tracking.store.open_store` opens it. The HTTP backend is one
real `sweeps ui` process of the session in front of a SQLite file, emptied before each test;
its artifact root is the server's, so `artifact_root` names that folder for HTTP tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracking
from tests.support import postgres
from tests.support import server as http_support
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
    # "Not even the schema" is a database's state: schema tests run on the SQL backends only.
    Backend("http", "http_uri", "", sql=False),
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


def _serving(start: Callable[[], postgres.PostgresServer]) -> Iterator[postgres.PostgresServer]:
    """A server from ``start`` until the fixture ends; where none can start, skip (fail if required)."""
    try:
        server = start()
    except postgres.PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """One PostgreSQL server for the session: ``$SWEEPS_TEST_POSTGRES`` or a fresh initdb."""
    yield from _serving(postgres.start)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[postgres.PostgresServer]:
    """A server of this module only, started here: restarting or stopping it disturbs no other test."""
    from tests.support import pg_outage

    yield from _serving(pg_outage.own_server)


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


@pytest.fixture(params=SQL_STORE_PARAMS)
def fresh_store_uri(request: pytest.FixtureRequest) -> str:
    """A URI of a database with nothing in it, not even the schema: for schema and migration tests."""
    return str(request.getfixturevalue(_BY_NAME[request.param].fresh_uri_fixture))


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[http_support.ServerProcess]:
    """One `sweeps ui` server of the session (no auth: every caller is admin) over a SQLite file."""
    base = tmp_path_factory.mktemp("http-server")
    with http_support.running(f"sqlite:///{base / 'store.db'}", base / "artifacts", base) as server:
        yield server


@pytest.fixture
def http_uri(http_server: http_support.ServerProcess) -> str:
    """The session server's URI, its store and artifact root emptied."""
    if http_server.process.poll() is not None:
        pytest.fail(f"the session's server died:\n{http_server.output()[-3000:]}", pytrace=False)
    http_server.empty()
    return http_server.url


def _backend_of(request: pytest.FixtureRequest) -> str | None:
    callspec = getattr(request.node, "callspec", None)
    return None if callspec is None else callspec.params.get("store_uri")


@pytest.fixture
def artifact_root(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the test's runs keep artifacts: a new folder, or on HTTP the server's own root."""
    if _backend_of(request) == "http":
        return request.getfixturevalue("http_server").artifact_root
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
