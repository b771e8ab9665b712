"""The model registry over a tracking client's store: versions, aliases, stages, audit, promotion."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection

from tracking.errors import ModelNotFound, RegistryError
from tracking.models import parse_model_uri, read_model_info
from tracking.registry import _sql as q
from tracking.registry._promote import Scorer, check_goal, data_metric, decide, run_metric
from tracking.registry.entities import (
    SHA256_TAG,
    AuditEntry,
    ModelVersion,
    PromotionDecision,
    RegisteredModel,
    Stage,
)
from tracking.store.engine import read_connection, with_retries
from tracking.validation import check_key, param_text

if TYPE_CHECKING:
    from tracking.client import TrackingClient

T = TypeVar("T")
CHAMPION, CHALLENGER = "champion", "challenger"
_NAME = re.compile(r"[\w][\w.\-]*")
_ALIAS = re.compile(r"[\w-]+")
_RESERVED = re.compile(r"latest|v\d+", re.IGNORECASE)


def check_model_name(name: str) -> str:
    """A registered model name: letters, digits, ``_``, ``-``, ``.``; no ``/`` or ``@`` (they end URIs)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > 250:
        raise RegistryError(
            f"invalid model name {name!r}: use letters, digits, '_', '-' and '.', starting with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    """An alias: ``[\\w-]+``, not ``latest`` nor ``v<digits>`` (those name versions in URIs)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or len(alias) > 250:
        raise RegistryError(f"invalid alias {alias!r}: use letters, digits, '_' and '-' only")
    if _RESERVED.fullmatch(alias):
        raise RegistryError(f"alias {alias!r} is reserved ('latest' and 'v<digits>' name versions); pick another")
    return alias


class ModelRegistry:
    """Registered models of one store; built by ``client.registry``.

    Every change is one transaction and, for aliases and stages, one audit-log entry saying
    who (``actor``, default the client's user) and why (``reason``).
    """

    def __init__(self, client: TrackingClient) -> None:
        self.client = client
        self._engine = client.store.engine

    def __repr__(self) -> str:
        return f"ModelRegistry({self.client.store!r})"

    def _actor(self, actor: str | None) -> str:
        return actor or self.client.user

    def _read(self, work: Callable[[Connection], T]) -> T:
        with read_connection(self._engine) as conn:
            return work(conn)

    # -- registered models -------------------------------------------------------------

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, object] | None = None
    ) -> RegisteredModel:
        check_model_name(name)
        texts = _texts(tags)

        def create(conn: Connection) -> RegisteredModel:
            if not q.insert_model_without_commit(conn, name, description, q.now_ms()):
                raise RegistryError(f"a registered model named {name!r} already exists")
            q.set_tags_without_commit(conn, q.MT, {"name": name}, texts)
            return q.require_model(conn, name)

        return with_retries(self._engine, create)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._read(lambda conn: q.require_model(conn, name))

    def list_registered_models(self) -> list[RegisteredModel]:
        return self._read(q.read_models)

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        texts = _texts({key: value})

        def set_tag(conn: Connection) -> None:
            q.lock_model_without_commit(conn, name)
            q.set_tags_without_commit(conn, q.MT, {"name": name}, texts)
            q.touch_model_without_commit(conn, name, q.now_ms())

        with_retries(self._engine, set_tag)

    # -- versions ----------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        model_uri: str,
        path: str = "model",
        *,
        description: str | None = None,
        tags: Mapping[str, object] | None = None,
        alias: str | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Register the model at ``runs:/<run_id>/<path>`` (or ``model_uri`` = a run id, plus ``path``).

        With ``alias``, the new version also takes that alias in the same transaction: either
        both happen or neither (no version is left registered without its alias).

        Creates the registered model on first use; versions count 1, 2, 3... per name, also
        when several processes register at once.
        """
        check_model_name(name)
        if alias is not None:
            check_alias(alias)
        source = model_uri if model_uri.startswith("runs:/") else f"runs:/{model_uri}/{path}"
        if model_uri.startswith("models:/"):
            raise RegistryError(f"register a run's model (runs:/<run_id>/<path>), not {model_uri!r}")
        ref = parse_model_uri(source)
        assert ref.run_id is not None and ref.path is not None
        source = f"runs:/{ref.run_id}/{ref.path}"
        # Raises a clear ModelError when the run logged no model at that path.
        info = read_model_info(self.client.artifacts(ref.run_id), ref.path)
        texts = {**_texts(tags), SHA256_TAG: info.sha256}
        who = self._actor(actor)

        def register(conn: Connection) -> ModelVersion:
            at = q.now_ms()
            q.insert_model_without_commit(conn, name, None, at)
            q.lock_model_without_commit(conn, name)
            version = q.allocate_version_without_commit(conn, name, at)
            q.insert_version_without_commit(conn, name, version, ref.run_id, source, description, at)
            q.set_tags_without_commit(conn, q.VT, {"name": name, "version": version}, texts)
            q.audit_without_commit(
                conn,
                name,
                version=version,
                action="register",
                subject=None,
                from_value=None,
                to_value=source,
                at=at,
                actor=who,
                reason=reason,
            )
            if alias is not None:
                self._move_alias_without_commit(conn, name, alias, version, who, reason)
            return q.require_version(conn, name, version)

        return with_retries(self._engine, register)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._read(lambda conn: q.require_version(conn, name, int(version)))

    def list_model_versions(self, name: str, stage: Stage | str | None = None) -> list[ModelVersion]:
        wanted = Stage.parse(stage) if stage is not None else None

        def read(conn: Connection) -> list[ModelVersion]:
            q.require_model(conn, name)
            return q.read_versions(conn, name, stage=wanted)

        return self._read(read)

    def get_latest_version(self, name: str, stage: Stage | str | None = None) -> ModelVersion:
        """The highest version of ``name``, or the highest in ``stage`` when given."""
        wanted = Stage.parse(stage) if stage is not None else None

        def read(conn: Connection) -> ModelVersion:
            q.require_model(conn, name)
            number = q.latest_version_number(conn, name, wanted)
            if number is None:
                where = f" in stage {wanted.value}" if wanted else ""
                raise ModelNotFound(f"model {name!r} has no version{where}")
            return q.require_version(conn, name, number)

        return self._read(read)

    def set_model_version_tag(self, name: str, version: int, key: str, value: object) -> None:
        if key == SHA256_TAG:
            raise RegistryError(f"tag {SHA256_TAG!r} is kept by the registry and cannot be set")
        texts = _texts({key: value})

        def set_tag(conn: Connection) -> None:
            q.lock_model_without_commit(conn, name)
            q.require_version(conn, name, version)
            q.set_tags_without_commit(conn, q.VT, {"name": name, "version": version}, texts)

        with_retries(self._engine, set_tag)

    def delete_model_version(
        self, name: str, version: int, *, reason: str | None = None, actor: str | None = None
    ) -> None:
        """Delete a version and the aliases pointing at it; its number is never reused."""
        who = self._actor(actor)

        def remove(conn: Connection) -> None:
            at = q.now_ms()
            q.lock_model_without_commit(conn, name)
            q.require_version(conn, name, version)
            for alias in q.aliases_of_version(conn, name, version):
                q.delete_alias_without_commit(conn, name, alias)
                q.audit_without_commit(
                    conn,
                    name,
                    version=version,
                    action="alias",
                    subject=alias,
                    from_value=version,
                    to_value=None,
                    at=at,
                    actor=who,
                    reason=f"version {version} deleted",
                )
            q.delete_version_without_commit(conn, name, version)
            q.audit_without_commit(
                conn,
                name,
                version=version,
                action="delete",
                subject=None,
                from_value=version,
                to_value=None,
                at=at,
                actor=who,
                reason=reason,
            )
            q.touch_model_without_commit(conn, name, at)

        with_retries(self._engine, remove)

    # -- aliases -----------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str | None = None, actor: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version``, moving it if it pointed elsewhere (audit: from -> to)."""
        check_alias(alias)
        who = self._actor(actor)

        def move(conn: Connection) -> ModelVersion:
            q.lock_model_without_commit(conn, name)
            q.require_version(conn, name, version)
            self._move_alias_without_commit(conn, name, alias, version, who, reason)
            return q.require_version(conn, name, version)

        return with_retries(self._engine, move)

    @staticmethod
    def _move_alias_without_commit(
        conn: Connection, name: str, alias: str, version: int, actor: str, reason: str | None
    ) -> None:
        previous = q.alias_target(conn, name, alias)
        if previous == version:
            return  # nothing moves, nothing to audit
        at = q.now_ms()
        q.set_alias_without_commit(conn, name, alias, version)
        q.audit_without_commit(
            conn,
            name,
            version=version,
            action="alias",
            subject=alias,
            from_value=previous,
            to_value=version,
            at=at,
            actor=actor,
            reason=reason,
        )
        q.touch_model_without_commit(conn, name, at)

    def delete_alias(self, name: str, alias: str, *, reason: str | None = None, actor: str | None = None) -> None:
        who = self._actor(actor)

        def remove(conn: Connection) -> None:
            at = q.now_ms()
            q.lock_model_without_commit(conn, name)
            previous = q.alias_target(conn, name, alias)
            if previous is None:
                raise ModelNotFound(f"model {name!r} has no alias @{alias}")
            q.delete_alias_without_commit(conn, name, alias)
            q.audit_without_commit(
                conn,
                name,
                version=previous,
                action="alias",
                subject=alias,
                from_value=previous,
                to_value=None,
                at=at,
                actor=who,
                reason=reason,
            )
            q.touch_model_without_commit(conn, name, at)

        with_retries(self._engine, remove)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        def read(conn: Connection) -> ModelVersion:
            q.require_model(conn, name)
            version = q.alias_target(conn, name, alias)
            if version is None:
                raise ModelNotFound(f"model {name!r} has no alias @{alias}")
            return q.require_version(conn, name, version)

        return self._read(read)

    # -- stages ------------------------------------------------------------------------

    def transition_stage(
        self,
        name: str,
        version: int,
        stage: Stage | str,
        *,
        archive_existing: bool = False,
        reason: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Move ``version`` to ``stage``; ``archive_existing`` archives the others in that stage."""
        target = Stage.parse(stage)
        if archive_existing and target not in (Stage.STAGING, Stage.PRODUCTION):
            raise RegistryError(f"archive_existing applies to Staging or Production, not {target.value}")
        who = self._actor(actor)

        def move(conn: Connection) -> ModelVersion:
            at = q.now_ms()
            q.lock_model_without_commit(conn, name)
            current = q.require_version(conn, name, version).stage
            if current is not target:
                q.set_stage_without_commit(conn, name, version, target, at)
                q.audit_without_commit(
                    conn,
                    name,
                    version=version,
                    action="stage",
                    subject="stage",
                    from_value=current.value,
                    to_value=target.value,
                    at=at,
                    actor=who,
                    reason=reason,
                )
            if archive_existing:
                for other in q.versions_in_stage(conn, name, target):
                    if other == version:
                        continue
                    q.set_stage_without_commit(conn, name, other, Stage.ARCHIVED, at)
                    why = f"archived: version {version} moved to {target.value}" + (f" ({reason})" if reason else "")
                    q.audit_without_commit(
                        conn,
                        name,
                        version=other,
                        action="stage",
                        subject="stage",
                        from_value=target.value,
                        to_value=Stage.ARCHIVED.value,
                        at=at,
                        actor=who,
                        reason=why,
                    )
            q.touch_model_without_commit(conn, name, at)
            return q.require_version(conn, name, version)

        return with_retries(self._engine, move)

    # -- audit and promotion -----------------------------------------------------------

    def audit_log(self, name: str) -> list[AuditEntry]:
        """Every registration, alias move, stage change, deletion and promotion of ``name``, oldest first."""

        def read(conn: Connection) -> list[AuditEntry]:
            q.require_model(conn, name)
            return q.read_audit(conn, name)

        return self._read(read)

    def promote(
        self,
        name: str,
        metric: str,
        goal: str = "maximize",
        min_delta: float = 0.0,
        data: tuple[object, object] | None = None,
        *,
        scorer: Scorer | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> PromotionDecision:
        """Move @champion to @challenger when it wins on ``metric`` by at least ``min_delta``.

        Values come from the versions' source runs (``metric``, else ``objective.<metric>``,
        last logged value), or with ``data=(X, y)`` from re-scoring both models on it
        (``scorer(model, X, y)``, default the model's own ``score``). With no champion yet the
        challenger becomes champion. The decision is recorded in the audit log either way.
        """
        goal = check_goal(goal, min_delta)
        who = self._actor(actor)
        aliases = self.get_registered_model(name).aliases
        champion_v, challenger_v = aliases.get(CHAMPION), aliases.get(CHALLENGER)
        if challenger_v is None:
            raise RegistryError(
                f"model {name!r} has no @{CHALLENGER} to promote; point one at a version first: "
                f"sweeps models alias {name} {CHALLENGER} VERSION"
            )

        def value_of(number: int) -> float:
            version = self.get_model_version(name, number)
            if data is not None:
                return data_metric(self.client, version, data, scorer)
            return run_metric(self.client, version, metric)

        challenger_value = value_of(challenger_v)
        champion_value = None
        if champion_v is not None:
            champion_value = challenger_value if champion_v == challenger_v else value_of(champion_v)
        decision = decide(
            name=name,
            metric=metric,
            goal=goal,
            min_delta=float(min_delta),
            champion=champion_v,
            challenger=challenger_v,
            champion_value=champion_value,
            challenger_value=challenger_value,
            evaluated_on="data" if data is not None else "runs",
        )
        why = decision.reason + (f"; {reason}" if reason else "")

        def record(conn: Connection) -> None:
            q.lock_model_without_commit(conn, name)
            q.check_unchanged(conn, name, {CHAMPION: champion_v, CHALLENGER: challenger_v})
            if decision.promoted:
                self._move_alias_without_commit(conn, name, CHAMPION, challenger_v, who, why)
            q.audit_without_commit(
                conn,
                name,
                version=challenger_v,
                action="promote",
                subject=CHAMPION,
                from_value=champion_v,
                to_value=decision.champion_after,
                at=q.now_ms(),
                actor=who,
                reason=why,
            )

        with_retries(self._engine, record)
        return decision


def _texts(values: Mapping[str, object] | None) -> dict[str, str]:
    return {check_key("tag", k): param_text(k, v) for k, v in (values or {}).items()}
