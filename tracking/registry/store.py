"""The registry store protocol: what `ModelRegistry` needs from a backend (SQL today, HTTP later).

Contract, for every implementation:

- **Thread-safe**: one registry store serves every thread of its process.
- **Frozen records**: `RegisteredModel`, `ModelVersion` and `AuditEntry` come back immutable.
- **One transaction per method**: a method does all it was asked or nothing
  (``register_version`` with an ``alias`` leaves no version behind when the alias fails).
- **Versions count 1, 2, 3... per name**, without gaps or duplicates, also when several
  processes register at once; a deleted version's number is never handed out again.
- **Audited**: every registration, deletion, alias move, stage change and promotion writes its
  `AuditEntry` (who, why, from -> to) in the transaction that makes the change; a call that
  changes nothing (an alias set to where it points, a stage to the one it has) writes none.
- **Errors**: only `TrackingError` subclasses leave a method: `ModelNotFound` for an unknown
  model, version or alias, `RegistryError` for a refused change (a model that exists, aliases
  moved under a promotion), `StoreUnavailable` when the backend cannot be reached, and
  `StoreError` for anything else it refuses. Driver exceptions are chained, never raised.
- Arguments arrive checked by `ModelRegistry` (names, aliases, tag texts, stages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from tracking.registry.entities import AuditEntry, ModelVersion, PromotionDecision, RegisteredModel, Stage
from tracking.webhooks.entities import Webhook


@runtime_checkable
class RegistryStore(Protocol):
    """Persistence of registered models, versions, aliases, stages and the audit log."""

    # -- registered models ----------------------------------------------------------------

    def create_model(self, name: str, description: str | None, tags: Mapping[str, str]) -> RegisteredModel:
        """A new model; `RegistryError` when one of that name exists."""
        ...

    def get_model(self, name: str) -> RegisteredModel: ...

    def list_models(self) -> list[RegisteredModel]:
        """Every model, by name."""
        ...

    def set_model_tags(self, name: str, tags: Mapping[str, str]) -> None: ...

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
        """The next version of ``name`` (the model is created on first use), with ``alias`` when given."""
        ...

    def get_version(self, name: str, version: int) -> ModelVersion: ...

    def list_versions(self, name: str, stage: Stage | None = None) -> list[ModelVersion]:
        """Versions of ``name`` (in ``stage``, when given), lowest first."""
        ...

    def latest_version(self, name: str, stage: Stage | None = None) -> ModelVersion:
        """The highest version (in ``stage``, when given); `ModelNotFound` when there is none."""
        ...

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None: ...

    def delete_version(self, name: str, version: int, *, actor: str, reason: str | None) -> None:
        """Delete a version and the aliases pointing at it (each alias removal audited)."""
        ...

    # -- aliases and stages -----------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, *, actor: str, reason: str | None) -> ModelVersion:
        """Point ``alias`` at ``version``, moving it from where it pointed."""
        ...

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> None:
        """Remove ``alias``; `ModelNotFound` when the model has no such alias."""
        ...

    def version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    def transition_stage(
        self, name: str, version: int, stage: Stage, *, archive_existing: bool, actor: str, reason: str | None
    ) -> ModelVersion:
        """Move ``version`` to ``stage``; ``archive_existing`` archives the others in that stage."""
        ...

    # -- audit and promotion ------------------------------------------------------------------

    def audit_log(self, name: str) -> list[AuditEntry]:
        """Every audited change of ``name``, oldest first."""
        ...

    def record_promotion(self, decision: PromotionDecision, *, actor: str, reason: str) -> None:
        """Apply ``decision``: move @champion when it promoted, and audit it either way.

        `RegistryError` when @champion or @challenger moved since the decision was taken
        (they must still point at ``champion_before`` and ``challenger_version``).
        """
        ...

    # -- governance: protected aliases and webhooks (issue 15) ------------------------------------

    def protect_alias(self, name: str, alias: str, *, actor: str, reason: str | None) -> bool:
        """Protect ``alias`` (audited): afterwards every move or removal of it needs a reason
        (`PermissionDenied` without one). False when it was protected already."""
        ...

    def unprotect_alias(self, name: str, alias: str, *, actor: str, reason: str) -> None:
        """Lift the protection (audited); `RegistryError` when the alias is not protected."""
        ...

    def protected_aliases(self, name: str) -> frozenset[str]: ...

    def add_webhook(self, name: str, url: str, secret: str, events: tuple[str, ...], *, actor: str) -> Webhook:
        """Subscribe ``url``; the secret is kept sealed, never in clear, and never handed back."""
        ...

    def list_webhooks(self, name: str) -> list[Webhook]: ...

    def remove_webhook(self, name: str, webhook_id: int, *, actor: str) -> None:
        """`ModelNotFound` when ``name`` has no such webhook; its undelivered events go with it."""
        ...

    def redeliver_webhook(self, name: str, webhook_id: int, *, actor: str) -> int:
        """Queue the webhook's given-up events again (audited when there were any); how many."""
        ...
