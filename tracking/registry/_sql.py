"""All SQL of the model registry: small ``..._without_commit`` steps that callers compose.

Each public registry call runs its steps in one write transaction (``with_retries``). A
mutating call first locks the model's ``registered_models`` row (``FOR UPDATE`` on
PostgreSQL; SQLite writers are already serialised by ``BEGIN IMMEDIATE``), so changes to one
model happen one at a time and version numbers are handed out without gaps or duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, Row, Table, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tracking.errors import ModelNotFound, RegistryError
from tracking.registry.entities import AuditEntry, ModelVersion, RegisteredModel, Stage
from tracking.store import schema as t

M, V, A, L = t.registered_models, t.model_versions, t.model_aliases, t.registry_audit_log
MT, VT = t.registered_model_tags, t.model_version_tags


def now_ms() -> int:
    return int(time.time() * 1000)


def _insert_ignore(conn: Connection, table: Table, values: Mapping[str, object]) -> bool:
    """Insert unless the primary key exists; True when a row was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT inserts.
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


# -- models --------------------------------------------------------------------------------


def insert_model_without_commit(conn: Connection, name: str, description: str | None, at: int) -> bool:
    """Create the model row if missing; True when this call created it."""
    row = {"name": name, "description": description, "created_at": at, "updated_at": at, "next_version": 1}
    return _insert_ignore(conn, M, row)


def lock_model_without_commit(conn: Connection, name: str) -> Row:
    """The model's row, locked until the transaction ends; ModelNotFound when absent."""
    row = conn.execute(select(M).where(M.c.name == name).with_for_update()).first()
    if row is None:
        raise ModelNotFound(f"no registered model named {name!r}; `sweeps models list` shows the registered ones")
    return row


def set_tags_without_commit(
    conn: Connection, table: Table, keys: Mapping[str, object], tags: Mapping[str, str]
) -> None:
    if not tags:
        return
    conn.execute(delete(table).where(and_(*(table.c[k] == v for k, v in keys.items())), table.c.key.in_(list(tags))))
    conn.execute(insert(table), [{**keys, "key": k, "value": v} for k, v in tags.items()])


def touch_model_without_commit(conn: Connection, name: str, at: int) -> None:
    conn.execute(update(M).where(M.c.name == name).values(updated_at=at))


def read_models(conn: Connection, names: Sequence[str] | None = None) -> list[RegisteredModel]:
    """Models (all, or those named) with tags, aliases and latest version: four queries in all."""
    query = select(M).order_by(M.c.name)
    if names is not None:
        query = query.where(M.c.name.in_(list(names)))
    rows = conn.execute(query).all()
    wanted = [r.name for r in rows]
    if not wanted:
        return []
    latest = dict(
        conn.execute(select(V.c.name, func.max(V.c.version)).where(V.c.name.in_(wanted)).group_by(V.c.name)).all()
    )
    tags: dict[str, dict[str, str]] = {}
    for name, key, value in conn.execute(select(MT.c.name, MT.c.key, MT.c.value).where(MT.c.name.in_(wanted))):
        tags.setdefault(name, {})[key] = value
    aliases: dict[str, dict[str, int]] = {}
    for name, alias, version in conn.execute(
        select(A.c.name, A.c.alias, A.c.version).where(A.c.name.in_(wanted)).order_by(A.c.alias)
    ):
        aliases.setdefault(name, {})[alias] = version
    return [
        RegisteredModel(
            name=r.name,
            description=r.description,
            created_at=r.created_at,
            updated_at=r.updated_at,
            latest_version=latest.get(r.name),
            tags=tags.get(r.name, {}),
            aliases=aliases.get(r.name, {}),
        )
        for r in rows
    ]


def require_model(conn: Connection, name: str) -> RegisteredModel:
    found = read_models(conn, [name])
    if not found:
        raise ModelNotFound(f"no registered model named {name!r}; `sweeps models list` shows the registered ones")
    return found[0]


# -- versions ------------------------------------------------------------------------------


def allocate_version_without_commit(conn: Connection, name: str, at: int) -> int:
    """The next version number of ``name``, taken by an atomic increment of its counter."""
    bumped = conn.execute(
        update(M)
        .where(M.c.name == name)
        .values(next_version=M.c.next_version + 1, updated_at=at)
        .returning(M.c.next_version)
    ).scalar_one()
    return int(bumped) - 1


def insert_version_without_commit(
    conn: Connection, name: str, version: int, run_id: str | None, source: str, description: str | None, at: int
) -> None:
    conn.execute(
        insert(V).values(
            name=name,
            version=version,
            run_id=run_id,
            source=source,
            stage=Stage.NONE.value,
            description=description,
            created_at=at,
            updated_at=at,
        )
    )


def read_versions(
    conn: Connection, name: str, *, versions: Iterable[int] | None = None, stage: Stage | None = None
) -> list[ModelVersion]:
    """Versions of ``name`` in ascending order, with their tags and aliases."""
    query = select(V).where(V.c.name == name).order_by(V.c.version)
    if versions is not None:
        query = query.where(V.c.version.in_(list(versions)))
    if stage is not None:
        query = query.where(V.c.stage == stage.value)
    rows = conn.execute(query).all()
    if not rows:
        return []
    numbers = [r.version for r in rows]
    tags: dict[int, dict[str, str]] = {}
    for version, key, value in conn.execute(
        select(VT.c.version, VT.c.key, VT.c.value).where(VT.c.name == name, VT.c.version.in_(numbers))
    ):
        tags.setdefault(version, {})[key] = value
    aliases: dict[int, list[str]] = {}
    for alias, version in conn.execute(
        select(A.c.alias, A.c.version).where(A.c.name == name, A.c.version.in_(numbers)).order_by(A.c.alias)
    ):
        aliases.setdefault(version, []).append(alias)
    return [
        ModelVersion(
            name=r.name,
            version=r.version,
            run_id=r.run_id,
            source=r.source,
            stage=Stage(r.stage),
            description=r.description,
            created_at=r.created_at,
            updated_at=r.updated_at,
            tags=tags.get(r.version, {}),
            aliases=tuple(aliases.get(r.version, ())),
        )
        for r in rows
    ]


def require_version(conn: Connection, name: str, version: int) -> ModelVersion:
    found = read_versions(conn, name, versions=[version])
    if not found:
        require_model(conn, name)  # a missing model is the more useful message
        raise ModelNotFound(f"model {name!r} has no version {version}; `sweeps models show {name}` lists its versions")
    return found[0]


def latest_version_number(conn: Connection, name: str, stage: Stage | None) -> int | None:
    query = select(func.max(V.c.version)).where(V.c.name == name)
    if stage is not None:
        query = query.where(V.c.stage == stage.value)
    found = conn.execute(query).scalar()
    return int(found) if found is not None else None


def delete_version_without_commit(conn: Connection, name: str, version: int) -> None:
    conn.execute(delete(VT).where(VT.c.name == name, VT.c.version == version))
    conn.execute(delete(V).where(V.c.name == name, V.c.version == version))


def set_stage_without_commit(conn: Connection, name: str, version: int, stage: Stage, at: int) -> None:
    conn.execute(update(V).where(V.c.name == name, V.c.version == version).values(stage=stage.value, updated_at=at))


def versions_in_stage(conn: Connection, name: str, stage: Stage) -> list[int]:
    query = select(V.c.version).where(V.c.name == name, V.c.stage == stage.value).order_by(V.c.version)
    return [int(v) for v in conn.execute(query).scalars()]


# -- aliases -------------------------------------------------------------------------------


def alias_target(conn: Connection, name: str, alias: str) -> int | None:
    found = conn.execute(select(A.c.version).where(A.c.name == name, A.c.alias == alias)).scalar()
    return int(found) if found is not None else None


def aliases_of_version(conn: Connection, name: str, version: int) -> list[str]:
    query = select(A.c.alias).where(A.c.name == name, A.c.version == version).order_by(A.c.alias)
    return list(conn.execute(query).scalars())


def set_alias_without_commit(conn: Connection, name: str, alias: str, version: int) -> None:
    conn.execute(delete(A).where(A.c.name == name, A.c.alias == alias))
    conn.execute(insert(A).values(name=name, alias=alias, version=version))


def delete_alias_without_commit(conn: Connection, name: str, alias: str) -> None:
    conn.execute(delete(A).where(A.c.name == name, A.c.alias == alias))


# -- audit log -----------------------------------------------------------------------------


def audit_without_commit(
    conn: Connection,
    name: str,
    *,
    version: int | None,
    action: str,
    subject: str | None,
    from_value: object,
    to_value: object,
    at: int,
    actor: str,
    reason: str | None,
) -> None:
    conn.execute(
        insert(L).values(
            name=name,
            version=version,
            action=action,
            subject=subject,
            from_value=None if from_value is None else str(from_value),
            to_value=None if to_value is None else str(to_value),
            at=at,
            actor=actor,
            reason=reason,
        )
    )


def read_audit(conn: Connection, name: str) -> list[AuditEntry]:
    rows = conn.execute(select(L).where(L.c.name == name).order_by(L.c.id))
    return [
        AuditEntry(
            id=r.id,
            name=r.name,
            version=r.version,
            action=r.action,
            subject=r.subject,
            from_value=r.from_value,
            to_value=r.to_value,
            at=r.at,
            actor=r.actor,
            reason=r.reason,
        )
        for r in rows
    ]


def check_unchanged(conn: Connection, name: str, expected: Mapping[str, int | None]) -> None:
    """Refuse to act on aliases that moved since they were read (another promote, an alias call)."""
    for alias, version in expected.items():
        now = alias_target(conn, name, alias)
        if now != version:
            raise RegistryError(
                f"@{alias} of {name!r} moved from {version} to {now} while promoting; run the promotion again"
            )
