"""Contract: a new store created directly from the table definitions is the store Alembic migrates to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tests.conftest import STORE_PARAMS
from tests.support.postgres import PostgresServer
from tracking.store import migrate
from tracking.store import schema as t
from tracking.store.engine import make_engine

Snapshot = dict[str, dict[str, object]]


@pytest.fixture(params=STORE_PARAMS)
def two_empty_uris(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Two databases with nothing in them, on the same backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'created.db'}", f"sqlite:///{tmp_path / 'migrated.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(), server.create_database()


def refuse_alembic(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, fail the test if the store runs an Alembic migration."""

    def refuse(conn: sa.Connection) -> None:
        raise AssertionError("a new database was migrated with Alembic instead of created directly")

    monkeypatch.setattr(migrate, "_alembic_upgrade", refuse)


def alembic_upgrade(uri: str) -> None:
    """Run the migration scripts on ``uri``, as ``sweeps db upgrade`` does."""
    engine = make_engine(uri)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def snapshot(uri: str) -> Snapshot:
    """Every table's columns, keys, indexes and constraints as the database reports them, and the version row."""
    engine = sa.create_engine(uri)
    try:
        inspector = sa.inspect(engine)
        out: Snapshot = {}
        for table in sorted(inspector.get_table_names()):
            out[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                    for c in inspector.get_columns(table)
                ],
                "primary_key": inspector.get_pk_constraint(table),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                    for f in inspector.get_foreign_keys(table)
                ),
                "checks": sorted((c["name"] or "", c["sqltext"]) for c in inspector.get_check_constraints(table)),
            }
        with engine.connect() as conn:
            out["alembic_version"]["rows"] = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        return out
    finally:
        engine.dispose()


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL that every engine sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def test_a_created_store_has_the_migrated_schema(
    two_empty_uris: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created, migrated = two_empty_uris
    alembic_upgrade(migrated)
    refuse_alembic(monkeypatch)
    tracking.connect(created).close()

    expected = snapshot(migrated)
    assert set(expected) == {*t.metadata.tables, "alembic_version"}
    assert expected["alembic_version"]["rows"] == [(migrate.head_revision(),)]
    assert snapshot(created) == expected
    tracking.connect(migrated).close()  # each store accepts the other's way without migrating


def test_sweeps_db_upgrade_on_a_created_store_changes_nothing(fresh_store_uri: str, statements: list[str]) -> None:
    tracking.connect(fresh_store_uri).close()
    before = snapshot(fresh_store_uri)
    statements.clear()
    alembic_upgrade(fresh_store_uri)
    writes = [s for s in statements if s.split(None, 1)[0].upper() in ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE")]
    assert writes == []
    assert snapshot(fresh_store_uri) == before


def test_a_failed_creation_leaves_the_database_empty(fresh_store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    created_some = []

    def fail_halfway(bind: sa.Connection, **kwargs: object) -> None:
        t.experiments.create(bind)
        created_some.append(True)
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(t.metadata, "create_all", fail_halfway)
    with pytest.raises(RuntimeError, match="disk full"):
        tracking.connect(fresh_store_uri)
    assert created_some
    engine = sa.create_engine(fresh_store_uri)
    try:
        assert sa.inspect(engine).get_table_names() == []  # the version table went with the rest
    finally:
        engine.dispose()
    monkeypatch.undo()
    with tracking.connect(fresh_store_uri) as client:  # and the next connect creates it all
        assert client.list_experiments() == []
