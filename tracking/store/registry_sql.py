"""The SQL registry store: `tracking.registry.store.RegistryStore` over the tracking store's engine.

Each method is one transaction made of small ``_..._without_commit`` steps. A mutating method
first locks the model's ``registered_models`` row (``FOR UPDATE`` on PostgreSQL; SQLite writers
are already serialised by ``BEGIN IMMEDIATE``), so changes to one model happen one at a time
and version numbers are handed out without gaps or duplicates. Database errors leave as
tracking errors (`tracking.store.errors`): writes through the store's ``with_retries``, reads
through ``read_connection``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import Connection, Engine, Row, Table, and_, delete, func, insert, select, update

from tracking.errors import ModelNotFound, PermissionDenied, RegistryError
from tracking.registry.entities import (
    CHALLENGER,
    CHAMPION,
    AuditEntry,
    ModelVersion,
    PromotionDecision,
    RegisteredModel,
    Stage,
)
from tracking.store import schema as t
from tracking.store.dialects import Dialect
from tracking.store.engine import read_connection
from tracking.uri import mask_password
from tracking.webhooks import outbox_sql as wh
from tracking.webhooks.entities import PendingEvent, Webhook
from tracking.webhooks.sealing import Sealer

T = TypeVar("T")
Write = Callable[[Callable[[Connection], T]], T]

M, V, A, L = t.registered_models, t.model_versions, t.model_aliases, t.registry_audit_log
P = t.protected_aliases
MT, VT = t.registered_model_tags, t.model_version_tags


class SqlRegistryStore:
    """The registry's tables in the tracking store's database; built by ``SqlStore.registry_store()``.

    ``write`` runs one write transaction with the tracking store's retries and writer queue,
    so registry and run writes share one discipline.
    """

    def __init__(self, engine: Engine, dialect: Dialect, write: Write, where: str) -> None:
        self._engine = engine
        self._db = dialect
        self._write = write
        self._where = where
        self._sealer: Sealer | None = None  # built on first use: only webhooks need the key

    def __repr__(self) -> str:
        return f"SqlRegistryStore({self._where!r})"

    def _read(self, work: Callable[[Connection], T]) -> T:
        with read_connection(self._engine) as conn:
            return work(conn)

    # -- registered models ----------------------------------------------------------------

    def create_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel:
        def create(conn: Connection) -> RegisteredModel:
            if not self._insert_model_without_commit(conn, name, description, _now_ms()):
                raise RegistryError(f"a registered model named {name!r} already exists")
            _set_tags_without_commit(conn, MT, {"name": name}, tags)
            return _require_model(conn, name)

        return self._write(create)

    def get_model(self, name: str) -> RegisteredModel:
        return self._read(lambda conn: _require_model(conn, name))

    def list_models(self) -> list[RegisteredModel]:
        return self._read(_read_models)

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        def set_tags(conn: Connection) -> None:
            _lock_model_without_commit(conn, name)
            _set_tags_without_commit(conn, MT, {"name": name}, tags)
            _touch_model_without_commit(conn, name, _now_ms())

        self._write(set_tags)

    # -- versions ---------------------------------------------------------------------------

    def register_version(
        self,
        name: str,
        *,
        run_id: str,
        source: str,
        description: str | None,
        tags: Mapping[str, str],
        actor: str,
        reason: str | None,
        alias: str | None = None,
    ) -> ModelVersion:
        def register(conn: Connection) -> ModelVersion:
            at = _now_ms()
            self._insert_model_without_commit(conn, name, None, at)
            _lock_model_without_commit(conn, name)
            version = _allocate_version_without_commit(conn, name, at)
            _insert_version_without_commit(conn, name, version, run_id, source, description, at)
            _set_tags_without_commit(conn, VT, {"name": name, "version": version}, tags)
            _audit_without_commit(conn, name, version, "register", None, None, source, at, actor, reason)
            if alias is not None:
                _move_alias_without_commit(conn, name, alias, version, actor, reason)
            return _require_version(conn, name, version)

        return self._write(register)

    def get_version(self, name: str, version: int) -> ModelVersion:
        return self._read(lambda conn: _require_version(conn, name, version))

    def list_versions(self, name: str, stage: Stage | None = None) -> list[ModelVersion]:
        def read(conn: Connection) -> list[ModelVersion]:
            _require_model(conn, name)
            return _read_versions(conn, name, stage=stage)

        return self._read(read)

    def latest_version(self, name: str, stage: Stage | None = None) -> ModelVersion:
        def read(conn: Connection) -> ModelVersion:
            _require_model(conn, name)
            query = select(func.max(V.c.version)).where(V.c.name == name)
            if stage is not None:
                query = query.where(V.c.stage == stage.value)
            number = conn.execute(query).scalar()
            if number is None:
                where = f" in stage {stage.value}" if stage else ""
                raise ModelNotFound(f"model {name!r} has no version{where}")
            return _require_version(conn, name, int(number))

        return self._read(read)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        def set_tags(conn: Connection) -> None:
            _lock_model_without_commit(conn, name)
            _require_version(conn, name, version)
            _set_tags_without_commit(conn, VT, {"name": name, "version": version}, tags)

        self._write(set_tags)

    def delete_version(self, name: str, version: int, *, actor: str, reason: str | None) -> None:
        def remove(conn: Connection) -> None:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            _require_version(conn, name, version)
            aliases = select(A.c.alias).where(A.c.name == name, A.c.version == version).order_by(A.c.alias)
            for alias in list(conn.execute(aliases).scalars()):
                conn.execute(delete(A).where(A.c.name == name, A.c.alias == alias))
                why = f"version {version} deleted"
                _audit_without_commit(conn, name, version, "alias", alias, version, None, at, actor, why)
            conn.execute(delete(VT).where(VT.c.name == name, VT.c.version == version))
            conn.execute(delete(V).where(V.c.name == name, V.c.version == version))
            _audit_without_commit(conn, name, version, "delete", None, version, None, at, actor, reason)
            _touch_model_without_commit(conn, name, at)

        self._write(remove)

    # -- aliases and stages -----------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str, reason: str | None) -> ModelVersion:
        def move(conn: Connection) -> ModelVersion:
            _lock_model_without_commit(conn, name)
            _require_version(conn, name, version)
            _move_alias_without_commit(conn, name, alias, version, actor, reason)
            return _require_version(conn, name, version)

        return self._write(move)

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> None:
        def remove(conn: Connection) -> None:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            previous = _alias_target(conn, name, alias)
            if previous is None:
                raise ModelNotFound(f"model {name!r} has no alias @{alias}")
            _refuse_protected_without_commit(conn, name, alias, reason)
            conn.execute(delete(A).where(A.c.name == name, A.c.alias == alias))
            _audit_without_commit(conn, name, previous, "alias", alias, previous, None, at, actor, reason)
            _touch_model_without_commit(conn, name, at)

        self._write(remove)

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        def read(conn: Connection) -> ModelVersion:
            _require_model(conn, name)
            version = _alias_target(conn, name, alias)
            if version is None:
                raise ModelNotFound(f"model {name!r} has no alias @{alias}")
            return _require_version(conn, name, version)

        return self._read(read)

    def transition_stage(
        self, name: str, version: int, stage: Stage, *, archive_existing: bool, actor: str, reason: str | None
    ) -> ModelVersion:
        def move(conn: Connection) -> ModelVersion:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            current = _require_version(conn, name, version).stage
            if current is not stage:
                _set_stage_without_commit(conn, name, version, stage, at)
                _audit_without_commit(
                    conn, name, version, "stage", "stage", current.value, stage.value, at, actor, reason
                )
            if archive_existing:
                why = f"archived: version {version} moved to {stage.value}" + (f" ({reason})" if reason else "")
                query = select(V.c.version).where(V.c.name == name, V.c.stage == stage.value).order_by(V.c.version)
                for other in [int(v) for v in conn.execute(query).scalars() if v != version]:
                    _set_stage_without_commit(conn, name, other, Stage.ARCHIVED, at)
                    _audit_without_commit(
                        conn, name, other, "stage", "stage", stage.value, Stage.ARCHIVED.value, at, actor, why
                    )
            _touch_model_without_commit(conn, name, at)
            return _require_version(conn, name, version)

        return self._write(move)

    # -- audit and promotion ------------------------------------------------------------------

    def audit_log(self, name: str) -> list[AuditEntry]:
        def read(conn: Connection) -> list[AuditEntry]:
            _require_model(conn, name)
            return [_audit_entry(r) for r in conn.execute(select(L).where(L.c.name == name).order_by(L.c.id))]

        return self._read(read)

    def record_promotion(self, decision: PromotionDecision, *, actor: str, reason: str) -> None:
        name = decision.name

        def record(conn: Connection) -> None:
            _lock_model_without_commit(conn, name)
            expected = {CHAMPION: decision.champion_before, CHALLENGER: decision.challenger_version}
            for alias, version in expected.items():
                now = _alias_target(conn, name, alias)
                if now != version:
                    raise RegistryError(
                        f"@{alias} of {name!r} moved from {version} to {now} while promoting; run the promotion again"
                    )
            if decision.promoted:
                _move_alias_without_commit(conn, name, CHAMPION, decision.challenger_version, actor, reason)
            _audit_without_commit(
                conn,
                name,
                decision.challenger_version,
                "promote",
                CHAMPION,
                decision.champion_before,
                decision.champion_after,
                _now_ms(),
                actor,
                reason,
            )

        self._write(record)

    # -- protected aliases (issue 15) ---------------------------------------------------------

    def protect_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> bool:
        """Protect ``alias`` of ``name`` (audited); False when it was protected already."""

        def protect(conn: Connection) -> bool:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            if conn.execute(select(P.c.alias).where(P.c.name == name, P.c.alias == alias)).first() is not None:
                return False
            conn.execute(insert(P).values(name=name, alias=alias, created_at=at, actor=actor))
            _audit_without_commit(conn, name, None, "protect", alias, None, alias, at, actor, reason)
            return True

        return self._write(protect)

    def unprotect_alias(self, name: str, alias: str, *, actor: str, reason: str) -> None:
        def unprotect(conn: Connection) -> None:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            gone = conn.execute(delete(P).where(P.c.name == name, P.c.alias == alias).returning(P.c.alias)).first()
            if gone is None:
                raise RegistryError(f"alias @{alias} of model {name!r} is not protected; nothing was changed")
            _audit_without_commit(conn, name, None, "unprotect", alias, alias, None, at, actor, reason)

        self._write(unprotect)

    def protected_aliases(self, name: str) -> frozenset[str]:
        def read(conn: Connection) -> frozenset[str]:
            _require_model(conn, name)
            return frozenset(conn.execute(select(P.c.alias).where(P.c.name == name)).scalars())

        return self._read(read)

    # -- webhooks and their outbox (issue 15; `tracking.webhooks`) -------------------------------

    def _seal(self) -> Sealer:
        if self._sealer is None:
            self._sealer = Sealer.for_database(self._engine.url.database if self._db.name == "sqlite" else None)
        return self._sealer

    def add_webhook(self, name: str, url: str, secret: str, events: tuple[str, ...], *, actor: str) -> Webhook:
        sealed = self._seal().seal(secret)

        def add(conn: Connection) -> Webhook:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            hook = wh.insert_webhook(conn, name, url, sealed, events, actor, at)
            why = f"events {','.join(events)}"
            _audit_without_commit(conn, name, None, "webhook", "add", None, mask_password(url), at, actor, why)
            return hook

        return self._write(add)

    def list_webhooks(self, name: str) -> list[Webhook]:
        def read(conn: Connection) -> list[Webhook]:
            _require_model(conn, name)
            return wh.list_webhooks(conn, name)

        return self._read(read)

    def remove_webhook(self, name: str, webhook_id: int, *, actor: str) -> None:
        def remove(conn: Connection) -> None:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            gone = wh.delete_webhook_without_commit(conn, name, webhook_id)
            if gone is None:
                raise _no_webhook(name, webhook_id)
            url = mask_password(gone)
            _audit_without_commit(conn, name, None, "webhook", "remove", url, None, at, actor, None)

        self._write(remove)

    def redeliver_webhook(self, name: str, webhook_id: int, *, actor: str) -> int:
        def requeue(conn: Connection) -> int:
            at = _now_ms()
            _lock_model_without_commit(conn, name)
            if wh.webhook_url(conn, name, webhook_id) is None:
                raise _no_webhook(name, webhook_id)
            queued = wh.requeue_given_up_without_commit(conn, webhook_id, at)
            if queued:
                why = f"{queued} given-up event(s) queued again"
                _audit_without_commit(conn, name, None, "webhook", "redeliver", None, str(webhook_id), at, actor, why)
            return queued

        return self._write(requeue)

    def claim_events(self, *, now_ms: int, lease_ms: int, limit: int, since_ms: int | None) -> list[PendingEvent]:
        rows = self._read(lambda conn: wh.due_rows(conn, now_ms, limit, since_ms))
        claimed: list[PendingEvent] = []
        until = now_ms + lease_ms
        for r in rows:
            took = self._write(
                lambda conn, r=r: wh.claim_without_commit(conn, r.event_id, r.next_attempt_at, r.attempts, until)
            )
            if took:
                secret = self._seal().open(r.secret_sealed)
                event = PendingEvent(r.event_id, r.webhook_id, r.url, secret, r.payload, r.attempts + 1, r.created_at)
                claimed.append(event)
        return claimed

    def mark_delivered(self, event_id: int, *, at_ms: int) -> bool:
        return self._write(lambda conn: wh.mark_delivered_without_commit(conn, event_id, at_ms))

    def mark_failed(self, event_id: int, *, retry_at_ms: int, error: str, give_up: bool = False) -> None:
        given_up_at = _now_ms() if give_up else None
        self._write(lambda conn: wh.mark_failed_without_commit(conn, event_id, retry_at_ms, error, given_up_at))

    def pending_events(self, *, since_ms: int | None) -> int:
        return self._read(lambda conn: wh.pending_count(conn, since_ms))

    def next_attempt_ms(self, *, since_ms: int | None) -> int | None:
        return self._read(lambda conn: wh.next_attempt(conn, since_ms))

    # -- steps --------------------------------------------------------------------------------

    def _insert_model_without_commit(self, conn: Connection, name: str, description: str | None, at: int) -> bool:
        """Create the model row if missing; True when this call created it."""
        row = {"name": name, "description": description, "created_at": at, "updated_at": at, "next_version": 1}
        # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT inserts.
        stmt = self._db.insert_ignore(M).values(**row).returning(M.c.name)
        return conn.execute(stmt).first() is not None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _no_webhook(name: str, webhook_id: int) -> ModelNotFound:
    return ModelNotFound(f"model {name!r} has no webhook {webhook_id}; `sweeps models webhook list {name}`")


def _lock_model_without_commit(conn: Connection, name: str) -> Row:
    """The model's row, locked until the transaction ends; ModelNotFound when absent."""
    row = conn.execute(select(M).where(M.c.name == name).with_for_update()).first()
    if row is None:
        raise ModelNotFound(f"no registered model named {name!r}; `sweeps models list` shows the registered ones")
    return row


def _set_tags_without_commit(
    conn: Connection, table: Table, keys: Mapping[str, object], tags: Mapping[str, str]
) -> None:
    if not tags:
        return
    conn.execute(delete(table).where(and_(*(table.c[k] == v for k, v in keys.items())), table.c.key.in_(list(tags))))
    conn.execute(insert(table), [{**keys, "key": k, "value": v} for k, v in tags.items()])


def _touch_model_without_commit(conn: Connection, name: str, at: int) -> None:
    conn.execute(update(M).where(M.c.name == name).values(updated_at=at))


def _allocate_version_without_commit(conn: Connection, name: str, at: int) -> int:
    """The next version number of ``name``, taken by an atomic increment of its counter."""
    bumped = conn.execute(
        update(M)
        .where(M.c.name == name)
        .values(next_version=M.c.next_version + 1, updated_at=at)
        .returning(M.c.next_version)
    ).scalar_one()
    return int(bumped) - 1


def _insert_version_without_commit(
    conn: Connection, name: str, version: int, run_id: str, source: str, description: str | None, at: int
) -> None:
    values = {"name": name, "version": version, "run_id": run_id, "source": source, "stage": Stage.NONE.value}
    conn.execute(insert(V).values(**values, description=description, created_at=at, updated_at=at))


def _set_stage_without_commit(conn: Connection, name: str, version: int, stage: Stage, at: int) -> None:
    conn.execute(update(V).where(V.c.name == name, V.c.version == version).values(stage=stage.value, updated_at=at))


def _alias_target(conn: Connection, name: str, alias: str) -> int | None:
    found = conn.execute(select(A.c.version).where(A.c.name == name, A.c.alias == alias)).scalar()
    return int(found) if found is not None else None


def _move_alias_without_commit(
    conn: Connection, name: str, alias: str, version: int, actor: str, reason: str | None
) -> None:
    previous = _alias_target(conn, name, alias)
    if previous == version:
        return  # nothing moves, nothing to audit
    _refuse_protected_without_commit(conn, name, alias, reason)
    at = _now_ms()
    conn.execute(delete(A).where(A.c.name == name, A.c.alias == alias))
    conn.execute(insert(A).values(name=name, alias=alias, version=version))
    _audit_without_commit(conn, name, version, "alias", alias, previous, version, at, actor, reason)
    _touch_model_without_commit(conn, name, at)


def _audit_without_commit(
    conn: Connection,
    name: str,
    version: int | None,
    action: str,
    subject: str | None,
    from_value: object,
    to_value: object,
    at: int,
    actor: str,
    reason: str | None,
) -> None:
    values = {
        "name": name,
        "version": version,
        "action": action,
        "subject": subject,
        "from_value": None if from_value is None else str(from_value),
        "to_value": None if to_value is None else str(to_value),
        "at": at,
        "actor": actor,
        "reason": reason,
    }
    audit_id = conn.execute(insert(L).values(**values).returning(L.c.id)).scalar_one()
    # The webhook event is queued in the change's own transaction: it exists iff the change does.
    payload = {
        "event": action,
        "model": name,
        "version": version,
        "subject": subject,
        "from": values["from_value"],
        "to": values["to_value"],
        "at": at,
        "actor": actor,
        "reason": reason,
        "audit_id": int(audit_id),
    }
    wh.enqueue_without_commit(conn, name, action, payload, at)


def _refuse_protected_without_commit(conn: Connection, name: str, alias: str, reason: str | None) -> None:
    """A protected alias moves only with a reason, on every backend (the server also needs MANAGE)."""
    if (reason or "").strip():
        return
    if conn.execute(select(P.c.alias).where(P.c.name == name, P.c.alias == alias)).first() is not None:
        raise PermissionDenied(
            f"alias @{alias} of model {name!r} is protected: moving it needs a reason (--reason); nothing was changed"
        )


# -- reads ------------------------------------------------------------------------------------


def _read_models(conn: Connection, names: Sequence[str] | None = None) -> list[RegisteredModel]:
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
    query = select(A.c.name, A.c.alias, A.c.version).where(A.c.name.in_(wanted)).order_by(A.c.alias)
    for name, alias, version in conn.execute(query):
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


def _require_model(conn: Connection, name: str) -> RegisteredModel:
    found = _read_models(conn, [name])
    if not found:
        raise ModelNotFound(f"no registered model named {name!r}; `sweeps models list` shows the registered ones")
    return found[0]


def _read_versions(
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
    query = select(VT.c.version, VT.c.key, VT.c.value).where(VT.c.name == name, VT.c.version.in_(numbers))
    for version, key, value in conn.execute(query):
        tags.setdefault(version, {})[key] = value
    aliases: dict[int, list[str]] = {}
    query = select(A.c.alias, A.c.version).where(A.c.name == name, A.c.version.in_(numbers)).order_by(A.c.alias)
    for alias, version in conn.execute(query):
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


def _require_version(conn: Connection, name: str, version: int) -> ModelVersion:
    found = _read_versions(conn, name, versions=[version])
    if not found:
        _require_model(conn, name)  # a missing model is the more useful message
        raise ModelNotFound(f"model {name!r} has no version {version}; `sweeps models show {name}` lists its versions")
    return found[0]


def _audit_entry(r: Row) -> AuditEntry:
    return AuditEntry(
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
