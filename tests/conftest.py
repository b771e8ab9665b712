"""Shared fixtures: a throwaway PostgreSQL server, a store URI per backend, and a client on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracking
from tests.support import postgres

pytest_plugins = ["pytester"]  # tests of this infrastructure run inner pytest sessions

REQUIRE_POSTGRES_ENV = "SWEEPS_REQUIRE_POSTGRES"

STORE_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


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
    """A URI of a store holding no data: a new SQLite file, or the emptied PostgreSQL scratch database."""
    name = "sqlite_uri" if request.param == "sqlite" else "postgres_uri"
    return str(request.getfixturevalue(name))


@pytest.fixture(params=STORE_PARAMS)
def fresh_store_uri(request: pytest.FixtureRequest) -> str:
    """A URI of a database with nothing in it, not even the schema: for schema and migration tests."""
    name = "sqlite_uri" if request.param == "sqlite" else "fresh_postgres_uri"
    return str(request.getfixturevalue(name))


@pytest.fixture
def artifact_root(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def client(store_uri: str, artifact_root: Path) -> Iterator[tracking.TrackingClient]:
    c = tracking.connect(store_uri, artifacts=str(artifact_root))
    try:
        yield c
    finally:
        c.close()
