"""The model registry over a tracking store: the rules (names, aliases, promotion), persisted by a `RegistryStore`."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tracking.errors import PermissionDenied, RegistryError
from tracking.models import parse_model_uri, read_model_info
from tracking.registry._host import RegistryHost
from tracking.registry._promote import Scorer, check_goal, data_metric, decide, run_metric
from tracking.registry.entities import (
    CHALLENGER,
    CHAMPION,
    SHA256_TAG,
    AuditEntry,
    ModelVersion,
    PromotionDecision,
    RegisteredModel,
    Stage,
)
from tracking.registry.store import RegistryStore
from tracking.validation import check_key, param_text
from tracking.webhooks import OutboxStore, Webhook, check_events, check_url

if TYPE_CHECKING:
    from tracking.webhooks.delivery import Deliverer

# How long a command waits for its webhook events before exiting (`deliver_webhooks`).
WEBHOOK_DRAIN_S = 3.0

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

    Every change is one transaction of ``store`` and, for aliases and stages, one audit-log
    entry saying who (``actor``, default the client's user) and why (``reason``). This class
    keeps the rules; the `RegistryStore` keeps the records.
    """

    def __init__(self, client: RegistryHost, store: RegistryStore) -> None:
        self.client = client
        self._store = store
        self._started_ms = int(time.time() * 1000)
        self._deliverer: Deliverer | None = None

    def _changed(self) -> None:
        """Send this change's webhook events in the background (stores that keep an outbox)."""
        if not isinstance(self._store, OutboxStore):
            return  # over HTTP the server queues and delivers them
        if self._deliverer is None:
            # Imported here: httpx is needed only once a change has been made.
            from tracking.webhooks.delivery import Deliverer

            self._deliverer = Deliverer(self._store, since_ms=self._started_ms)
        self._deliverer.kick()

    def deliver_webhooks(self, timeout_s: float = WEBHOOK_DRAIN_S) -> int:
        """Wait up to ``timeout_s`` for the webhook events of this registry's changes; how many are left.

        What is left stays in the store's outbox: a running ``sweeps server`` delivers it.
        """
        if self._deliverer is None:
            return 0
        return self._deliverer.drain(timeout_s)

    def close(self) -> None:
        if self._deliverer is not None:
            self._deliverer.close()

    def __repr__(self) -> str:
        return f"ModelRegistry({self._store!r})"

    def _actor(self, actor: str | None) -> str:
        return actor or self.client.user

    # -- registered models -------------------------------------------------------------

    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, object] | None = None
    ) -> RegisteredModel:
        check_model_name(name)
        return self._store.create_model(name, description, _texts(tags))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._store.get_model(name)

    def list_registered_models(self) -> list[RegisteredModel]:
        return self._store.list_models()

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        self._store.set_model_tags(name, _texts({key: value}))

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
        if model_uri.startswith("models:/"):
            raise RegistryError(f"register a run's model (runs:/<run_id>/<path>), not {model_uri!r}")
        ref = parse_model_uri(model_uri if model_uri.startswith("runs:/") else f"runs:/{model_uri}/{path}")
        assert ref.run_id is not None and ref.path is not None
        # Raises a clear ModelError when the run logged no model at that path.
        info = read_model_info(self.client.artifacts(ref.run_id), ref.path)
        registered = self._store.register_version(
            name,
            run_id=ref.run_id,
            source=f"runs:/{ref.run_id}/{ref.path}",
            description=description,
            tags={**_texts(tags), SHA256_TAG: info.sha256},
            actor=self._actor(actor),
            reason=reason,
            alias=alias,
        )
        self._changed()
        return registered

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._store.get_version(name, int(version))

    def list_model_versions(self, name: str, stage: Stage | str | None = None) -> list[ModelVersion]:
        return self._store.list_versions(name, Stage.parse(stage) if stage is not None else None)

    def get_latest_version(self, name: str, stage: Stage | str | None = None) -> ModelVersion:
        """The highest version of ``name``, or the highest in ``stage`` when given."""
        return self._store.latest_version(name, Stage.parse(stage) if stage is not None else None)

    def set_model_version_tag(self, name: str, version: int, key: str, value: object) -> None:
        if key == SHA256_TAG:
            raise RegistryError(f"tag {SHA256_TAG!r} is kept by the registry and cannot be set")
        self._store.set_version_tags(name, int(version), _texts({key: value}))

    def delete_model_version(
        self, name: str, version: int, *, reason: str | None = None, actor: str | None = None
    ) -> None:
        """Delete a version and the aliases pointing at it; its number is never reused."""
        self._store.delete_version(name, int(version), actor=self._actor(actor), reason=reason)

    # -- aliases -----------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str | None = None, actor: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version``, moving it if it pointed elsewhere (audit: from -> to)."""
        check_alias(alias)
        moved = self._store.set_alias(name, alias, int(version), actor=self._actor(actor), reason=reason)
        self._changed()
        return moved

    def delete_alias(self, name: str, alias: str, *, reason: str | None = None, actor: str | None = None) -> None:
        self._store.delete_alias(name, alias, actor=self._actor(actor), reason=reason)
        self._changed()

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._store.version_by_alias(name, alias)

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
        moved = self._store.transition_stage(
            name, int(version), target, archive_existing=archive_existing, actor=self._actor(actor), reason=reason
        )
        self._changed()
        return moved

    # -- audit and promotion -----------------------------------------------------------

    def audit_log(self, name: str) -> list[AuditEntry]:
        """Every registration, alias move, stage change, deletion and promotion of ``name``, oldest first."""
        return self._store.audit_log(name)

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
        if not (reason or "").strip() and CHAMPION in self._store.protected_aliases(name):
            raise PermissionDenied(
                f"alias @{CHAMPION} of model {name!r} is protected: promoting needs a reason (--reason); "
                "nothing was changed"
            )
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
        # The store refuses the record when either alias moved since they were read above.
        self._store.record_promotion(decision, actor=self._actor(actor), reason=why)
        self._changed()
        return decision

    # -- governance: protected aliases and webhooks ----------------------------------------

    def protect_alias(self, name: str, alias: str, *, reason: str | None = None, actor: str | None = None) -> bool:
        """Protect ``alias``: moving or removing it afterwards needs a reason (and MANAGE on a server)."""
        check_alias(alias)
        return self._store.protect_alias(name, alias, actor=self._actor(actor), reason=reason)

    def unprotect_alias(self, name: str, alias: str, *, reason: str, actor: str | None = None) -> None:
        check_alias(alias)
        if not (reason or "").strip():
            raise RegistryError(f"unprotecting @{alias} of {name!r} needs a reason (--reason)")
        self._store.unprotect_alias(name, alias, actor=self._actor(actor), reason=reason)

    def protected_aliases(self, name: str) -> frozenset[str]:
        return self._store.protected_aliases(name)

    def add_webhook(
        self,
        name: str,
        url: str,
        secret: str,
        events: str | tuple[str, ...] | list[str] | None = None,
        *,
        actor: str | None = None,
    ) -> Webhook:
        """POST a signed JSON event to ``url`` for each chosen registry change of ``name``."""
        check_url(url)
        chosen = check_events(events)
        if not isinstance(secret, str) or len(secret) < 8:
            raise RegistryError(
                "a webhook secret must be at least 8 characters: the receiver checks signatures with it"
            )
        return self._store.add_webhook(name, url, secret, chosen, actor=self._actor(actor))

    def list_webhooks(self, name: str) -> list[Webhook]:
        return self._store.list_webhooks(name)

    def remove_webhook(self, name: str, webhook_id: int, *, actor: str | None = None) -> None:
        self._store.remove_webhook(name, int(webhook_id), actor=self._actor(actor))

    def redeliver_webhook(self, name: str, webhook_id: int, *, actor: str | None = None) -> int:
        """Queue again the events this webhook gave up on (retried for `GIVE_UP_AFTER_S`); how many.

        They are delivered in the background like a new change's events.
        """
        queued = self._store.redeliver_webhook(name, int(webhook_id), actor=self._actor(actor))
        if queued:
            self._changed()
        return queued


def _texts(values: Mapping[str, object] | None) -> dict[str, str]:
    return {check_key("tag", k): param_text(k, v) for k, v in (values or {}).items()}
