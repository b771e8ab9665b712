"""Frozen records of the model registry: models, versions, audit entries, promotion decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from tracking.errors import RegistryError

# Version tag holding the payload hash seen at registration; loading a version checks it.
SHA256_TAG = "sweeps.model.sha256"
# The aliases a promotion compares and moves.
CHAMPION, CHALLENGER = "champion", "challenger"


class Stage(StrEnum):
    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str | Stage | None) -> Stage:
        """A stage from its name in any case (``production``, ``None``...)."""
        if value is None:
            return cls.NONE
        for stage in cls:
            if str(value).lower() == stage.value.lower():
                return stage
        raise RegistryError(f"unknown stage {value!r}; use one of {', '.join(s.value for s in cls)}")


def _frozen(mapping: Mapping[str, object] | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    description: str | None
    created_at: int  # epoch milliseconds
    updated_at: int
    latest_version: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)  # alias -> version

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))
        object.__setattr__(self, "aliases", _frozen(self.aliases))


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    run_id: str | None
    source: str  # runs:/<run_id>/<path>
    stage: Stage
    description: str | None
    created_at: int
    updated_at: int
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def model_sha256(self) -> str | None:
        return self.tags.get(SHA256_TAG)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: ``action`` (alias | stage | promote | register | delete) of ``subject`` from → to."""

    id: int
    name: str
    version: int | None
    action: str
    subject: str | None  # the alias name, "stage", or "champion" for a promotion
    from_value: str | None
    to_value: str | None
    at: int  # epoch milliseconds
    actor: str
    reason: str | None

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.at / 1000, tz=UTC)

    def describe(self) -> str:
        what = f"{self.action} {self.subject}" if self.subject and self.subject != self.action else self.action
        change = f"{self.from_value or '-'} -> {self.to_value or '-'}"
        version = f" v{self.version}" if self.version is not None else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{what}{version}: {change} by {self.actor}{why}"


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    """The outcome of :meth:`ModelRegistry.promote`, with both values and the reason."""

    name: str
    metric: str
    goal: str  # maximize | minimize
    promoted: bool
    champion_before: int | None
    champion_after: int | None
    challenger_version: int
    champion_value: float | None
    challenger_value: float | None
    min_delta: float
    reason: str
    evaluated_on: str = "runs"  # runs: the source runs' logged metric; data: re-scored on given data
