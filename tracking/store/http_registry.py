"""The model registry's records on a server: `tracking.registry.store.RegistryStore` over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from tracking.registry.entities import AuditEntry, ModelVersion, PromotionDecision, RegisteredModel, Stage
from tracking.store.http_transport import Transport
from tracking.webhooks.entities import Webhook, webhook_from
from tracking.wire import API, audit_from, decision_to, model_from, version_from


def _q(text: str) -> str:
    return quote(text, safe="")


class HttpRegistryStore:
    """Every method is one request; the server applies the roles and records the audit's ``who``.

    Registrations and promotions are not idempotent, so they are retried only when they cannot
    have reached the server (see `Transport`).
    """

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return f"HttpRegistryStore({self._t.base_url!r})"

    def _model(self, name: str) -> str:
        return f"{API}/models/{_q(name)}"

    # -- registered models ------------------------------------------------------------

    def create_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": dict(tags)}
        return model_from(self._t.call("POST", f"{API}/models", body, idempotent=False))

    def get_model(self, name: str) -> RegisteredModel:
        return model_from(self._t.call("GET", self._model(name)))

    def list_models(self) -> list[RegisteredModel]:
        return [model_from(d) for d in self._t.call("GET", f"{API}/models")]

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None:
        self._t.call("POST", f"{self._model(name)}/tags", {"tags": dict(tags)})

    # -- versions -------------------------------------------------------------------------

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
        body = {
            "run_id": run_id,
            "source": source,
            "description": description,
            "tags": dict(tags),
            "actor": actor,
            "reason": reason,
            "alias": alias,
        }
        return version_from(self._t.call("POST", f"{self._model(name)}/versions", body, idempotent=False))

    def get_version(self, name: str, version: int) -> ModelVersion:
        return version_from(self._t.call("GET", f"{self._model(name)}/versions/{int(version)}"))

    def list_versions(self, name: str, stage: Stage | None = None) -> list[ModelVersion]:
        params = {"stage": stage.value} if stage is not None else None
        return [version_from(d) for d in self._t.call("GET", f"{self._model(name)}/versions", params=params)]

    def latest_version(self, name: str, stage: Stage | None = None) -> ModelVersion:
        params = {"stage": stage.value} if stage is not None else None
        return version_from(self._t.call("GET", f"{self._model(name)}/versions/latest", params=params))

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        self._t.call("POST", f"{self._model(name)}/versions/{int(version)}/tags", {"tags": dict(tags)})

    def delete_version(self, name: str, version: int, *, actor: str, reason: str | None) -> None:
        path = f"{self._model(name)}/versions/{int(version)}/delete"
        self._t.call("POST", path, {"actor": actor, "reason": reason}, idempotent=False)

    # -- aliases and stages ---------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str, reason: str | None) -> ModelVersion:
        body = {"version": int(version), "actor": actor, "reason": reason}
        return version_from(self._t.call("PUT", f"{self._model(name)}/aliases/{_q(alias)}", body))

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> None:
        path = f"{self._model(name)}/aliases/{_q(alias)}/delete"
        self._t.call("POST", path, {"actor": actor, "reason": reason}, idempotent=False)

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return version_from(self._t.call("GET", f"{self._model(name)}/aliases/{_q(alias)}"))

    def transition_stage(
        self, name: str, version: int, stage: Stage, *, archive_existing: bool, actor: str, reason: str | None
    ) -> ModelVersion:
        body = {"stage": stage.value, "archive_existing": archive_existing, "actor": actor, "reason": reason}
        return version_from(self._t.call("POST", f"{self._model(name)}/versions/{int(version)}/stage", body))

    # -- audit and promotion ----------------------------------------------------------------

    def audit_log(self, name: str) -> list[AuditEntry]:
        return [audit_from(d) for d in self._t.call("GET", f"{self._model(name)}/audit")]

    def record_promotion(self, decision: PromotionDecision, *, actor: str, reason: str) -> None:
        body = {"decision": decision_to(decision), "actor": actor, "reason": reason}
        self._t.call("POST", f"{self._model(decision.name)}/promotion", body, idempotent=False)

    # -- governance: protected aliases and webhooks (issue 15) --------------------------------

    def protect_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> bool:
        body = {"actor": actor, "reason": reason}
        answer = self._t.call("POST", f"{self._model(name)}/protected/{_q(alias)}", body, idempotent=False)
        return bool(answer.get("changed"))

    def unprotect_alias(self, name: str, alias: str, *, actor: str, reason: str) -> None:
        path = f"{self._model(name)}/protected/{_q(alias)}/delete"
        self._t.call("POST", path, {"actor": actor, "reason": reason}, idempotent=False)

    def protected_aliases(self, name: str) -> frozenset[str]:
        return frozenset(self._t.call("GET", f"{self._model(name)}/protected"))

    def add_webhook(self, name: str, url: str, secret: str, events: tuple[str, ...], *, actor: str) -> Webhook:
        # The secret travels once, in the body (use https:// to a server off this machine).
        body = {"url": url, "secret": secret, "events": list(events), "actor": actor}
        return webhook_from(self._t.call("POST", f"{self._model(name)}/webhooks", body, idempotent=False))

    def list_webhooks(self, name: str) -> list[Webhook]:
        return [webhook_from(d) for d in self._t.call("GET", f"{self._model(name)}/webhooks")]

    def remove_webhook(self, name: str, webhook_id: int, *, actor: str) -> None:
        path = f"{self._model(name)}/webhooks/{int(webhook_id)}/delete"
        self._t.call("POST", path, {"actor": actor}, idempotent=False)

    def redeliver_webhook(self, name: str, webhook_id: int, *, actor: str) -> int:
        path = f"{self._model(name)}/webhooks/{int(webhook_id)}/redeliver"
        return int(self._t.call("POST", path, {"actor": actor}, idempotent=False)["queued"])
