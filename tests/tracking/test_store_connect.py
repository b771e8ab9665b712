"""Contract: store URIs, password masking, SQLite settings and the schema-version check at connect."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tests.support import postgres
from tests.support.postgres import PostgresServer
from tracking import InvalidURI, SchemaVersionError, StoreUnavailable
from tracking.store import migrate, open_store
from tracking.store.sql_store import SqlStore
from tracking.uri import mask_password, resolve_store_uri

# -- URIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri", ["mysql://u:pw@host/db", "mongodb://host", "file:///tmp/x.db", "sweeps.db", "sqlite:relative.db", "://x"]
)
def test_unknown_or_malformed_uri_is_refused(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidURI):
        tracking.connect(uri)
    monkeypatch.setenv("SWEEPS_STORE", uri)
    with pytest.raises(InvalidURI):
        tracking.connect()


def test_unknown_scheme_message_masks_the_password() -> None:
    with pytest.raises(InvalidURI) as info:
        tracking.connect("mysql://admin:hunter2@db.example.com/x")
    assert "hunter2" not in str(info.value) and "mysql" in str(info.value)


def test_default_uri_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWEEPS_STORE", raising=False)
    assert resolve_store_uri(None) == "sqlite:///sweeps.db"
    with tracking.connect(artifacts=str(tmp_path / "a")) as client:
        client.start_run("e").end()
    assert (tmp_path / "sweeps.db").exists()
    monkeypatch.setenv("SWEEPS_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    with tracking.connect(artifacts=str(tmp_path / "a")) as client:
        assert client.list_experiments() == []
    assert (tmp_path / "env.db").exists()


def test_open_store_gives_a_store_and_refuses_unknown_schemes(store: tracking.Store) -> None:
    assert isinstance(store, tracking.Store)  # the SQL store implements the protocol
    with pytest.raises(InvalidURI):
        open_store("http2://somewhere")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_schemes_use_psycopg(scheme: str) -> None:
    assert resolve_store_uri(f"{scheme}://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql+psycopg://ana:s3cr%40t@h:5432/db", "postgresql+psycopg://ana:***@h:5432/db"),
        ("postgresql://ana:p:w/x@h/db", "postgresql://ana:***@h/db"),
        ("postgresql://ana@h/db", "postgresql://ana@h/db"),
        ("see postgres://a:b@h/d and postgres://c:d@h/e", "see postgres://a:***@h/d and postgres://c:***@h/e"),
    ],
)
def test_mask_password(uri: str, masked: str) -> None:
    assert mask_password(uri) == masked


def test_unreachable_server_is_store_unavailable_without_the_password() -> None:
    secret = "n0t-Printed-Ever"
    with pytest.raises(StoreUnavailable) as info:
        tracking.connect(f"postgresql+psycopg://ana:{secret}@127.0.0.1:1/db")
    text = "".join(traceback.format_exception(info.value))
    assert secret not in text
    assert "127.0.0.1" in text


@pytest.mark.postgres
def test_password_never_shown_by_reprs_or_errors(postgres_server: PostgresServer, tmp_path: Path) -> None:
    user, password = postgres_server.ensure_password_role()
    database = postgres_server.create_database().rsplit("/", 1)[1]
    with postgres_server.admin_connection() as conn:
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{user}"')
    good = postgres_server.uri_for(database, user=user, password=password)
    store = open_store(good)
    assert isinstance(store, SqlStore)
    with tracking.connect(store=store, artifacts=str(tmp_path)) as client:
        run = client.start_run("e")
        run.log_metric("m", 1.0)
        for text in (repr(client), repr(store), str(store.engine.url), repr(run)):
            assert password not in text
        assert "***" in repr(client) and "***" in repr(store)
        assert client.get_run(run.run_id).metrics["m"].last == 1.0  # the password did work

    wrong = "Wr0ng-Pa55word-xyz"
    try:
        tracking.connect(postgres_server.uri_for(database, user=user, password=wrong)).close()
    except StoreUnavailable as exc:
        text = "".join(traceback.format_exception(exc))
    else:
        pytest.skip(f"{postgres.ENV_URI}'s server does not check passwords (trust authentication)")
    assert "password authentication failed" in text
    assert wrong not in text and password not in text


# -- SQLite settings -----------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_uri: str) -> None:
    store = SqlStore(sqlite_uri)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_sqlite_in_a_missing_folder_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        tracking.connect(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")


# -- schema version ------------------------------------------------------------------------


def _version(uri: str) -> str | None:
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()


def _execute(uri: str, *statements: str) -> None:
    engine = sa.create_engine(uri)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_an_empty_database_gets_the_current_schema(fresh_store_uri: str) -> None:
    store = SqlStore(fresh_store_uri)
    with tracking.connect(store=store) as client:
        client.start_run("e").end()
        tables = set(sa.inspect(store.engine).get_table_names())
    assert {"experiments", "runs", "params", "tags", "metrics", "metric_summaries", "alembic_version"} <= tables
    assert _version(fresh_store_uri) == migrate.head_revision()
    with tracking.connect(fresh_store_uri) as again:  # a second connect finds it current
        assert [e.name for e in again.list_experiments()] == ["e"]


def test_a_newer_database_is_refused_with_what_to_do(fresh_store_uri: str) -> None:
    tracking.connect(fresh_store_uri).close()
    _execute(fresh_store_uri, "UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaVersionError) as info:
        tracking.connect(fresh_store_uri)
    message = str(info.value)
    assert "9999_from_the_future" in message and "newer" in message
    assert "upgrade the sweeps package" in message
    assert _version(fresh_store_uri) == "9999_from_the_future"  # left as it was


def test_an_older_database_is_refused_with_the_upgrade_command(
    fresh_store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking.connect(fresh_store_uri).close()
    current = migrate.head_revision()
    # Only one migration exists, so pretend the code has moved on to a next one.
    monkeypatch.setattr(migrate, "head_revision", lambda: "0002_next")
    with pytest.raises(SchemaVersionError) as info:
        tracking.connect(fresh_store_uri)
    message = str(info.value)
    assert "older" in message and current in message and "sweeps db upgrade" in message
    assert _version(fresh_store_uri) == current


def test_a_database_that_is_not_a_sweeps_store_is_refused(fresh_store_uri: str) -> None:
    _execute(fresh_store_uri, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(SchemaVersionError, match="not a Sweeps store"):
        tracking.connect(fresh_store_uri)
    engine = sa.create_engine(fresh_store_uri)
    try:
        assert sa.inspect(engine).get_table_names() == ["customers"]  # nothing was added
    finally:
        engine.dispose()


def test_code_schema_version_is_alembic_head() -> None:
    # The fast version check at connect compares with SCHEMA_VERSION instead of parsing the
    # migration scripts; the two must never drift apart.
    assert migrate.head_revision() == migrate.alembic_head()
