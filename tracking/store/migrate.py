"""Schema versioning: create a new database, refuse one older or newer than the code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

from tracking.errors import SchemaVersionError
from tracking.store.dialects import dialect_for
from tracking.store.engine import write_transaction
from tracking.store.schema import SCHEMA_VERSION, metadata
from tracking.uri import mask_password

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Alembic is imported only when a migration has to run or an unexpected version must be
# classified: every CLI call and every new store connects, and importing it costs more than
# creating the whole schema.

# Alembic's own version table, as its migration context defines it, so that a database created
# here is one Alembic recognises (`sweeps db upgrade` and later migrations start from it).
_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")  # without it alembic >= 1.16 warns on every connect
    cfg.set_main_option("version_locations", str(_MIGRATIONS / "versions"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The schema revision this code expects (a test checks it is Alembic's head)."""
    return SCHEMA_VERSION


def alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _lock(conn: Connection) -> None:
    # Serialise concurrent first connects and migrations (each dialect knows how).
    dialect_for(conn).lock_migrations(conn)


def _alembic_upgrade(conn: Connection, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(conn), revision)


def create_schema(conn: Connection, revision: str) -> None:
    """Create the current tables in an empty database and stamp it ``revision``, as Alembic would.

    The head migration's result is exactly ``metadata``'s tables (a test compares the two), so a
    new database skips replaying the migrations. Runs in the caller's transaction: a failure
    leaves the database empty.
    """
    _alembic_version.create(conn, checkfirst=False)
    metadata.create_all(conn, checkfirst=False)  # the caller has checked that no table exists
    conn.execute(_alembic_version.insert().values(version_num=revision))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the code's schema (``sweeps db upgrade``), or to an earlier ``revision``.

    One transaction: a failed migration leaves the database as it was.
    """
    with write_transaction(engine) as conn:
        _lock(conn)
        _alembic_upgrade(conn, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (to run an older release), keeping its data."""
    from alembic import command

    with write_transaction(engine) as conn:
        _lock(conn)
        command.downgrade(_config(conn), revision)


def ensure_schema(engine: Engine, *, upgrade_old: bool = False) -> None:
    """Create the schema in an empty database; check the version of an existing one."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return
    # Decide under the migration lock: another process may be creating the schema right now,
    # and outside the lock its tables could appear between reading the version and listing them.
    with write_transaction(engine) as conn:
        _lock(conn)
        current = current_revision(conn)
        if current == head:
            return
        if current is None and not inspect(conn).get_table_names():
            create_schema(conn, head)
            return
        _check_upgradable(conn, engine, current, head, upgrade_old)
        _alembic_upgrade(conn)


def _check_upgradable(conn: Connection, engine: Engine, current: str | None, head: str, upgrade_old: bool) -> None:
    where = mask_password(str(engine.url))
    if current is None and not upgrade_old:
        raise SchemaVersionError(f"database {where} holds tables but no schema version; it is not a Sweeps store")
    from alembic.script import ScriptDirectory

    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaVersionError(
            f"database {where} has schema {current}, newer than this code ({head}); "
            "upgrade the sweeps package (pip install -U sweeps)"
        )
    if current is not None and not upgrade_old:
        raise SchemaVersionError(
            f"database {where} has schema {current}, older than this code ({head}); "
            f"back it up, then run: sweeps db upgrade --store '{where}'"
        )
