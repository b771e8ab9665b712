"""What loading a model needs from a store: a run's artifacts, and registered versions for ``models:/`` URIs.

Structural protocols, so that this package knows neither the client nor the registry that
satisfy them (`tracking.TrackingClient` does, with its ``registry``).
"""

from __future__ import annotations

from typing import Protocol

from tracking.artifacts import Artifacts


class RegisteredVersion(Protocol):
    """A registered model version, as loading reads it."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def source(self) -> str:
        """``runs:/<run_id>/<path>`` of the model folder."""
        ...

    @property
    def model_sha256(self) -> str | None:
        """The payload hash recorded at registration."""
        ...


class VersionLookup(Protocol):
    """Finds the version a ``models:/`` URI names."""

    def get_model_version(self, name: str, version: int) -> RegisteredVersion: ...

    def get_version_by_alias(self, name: str, alias: str) -> RegisteredVersion: ...

    def get_latest_version(self, name: str, stage: str | None = None) -> RegisteredVersion: ...


class ModelSource(Protocol):
    """Where models are loaded from: runs' artifact folders and the registry over them."""

    def artifacts(self, run_id: str) -> Artifacts: ...

    def recorded_payload_sha256(self, run_id: str, path: str) -> str | None:
        """The payload hash the store recorded when the model at ``path`` of the run was logged."""
        ...

    @property
    def registry(self) -> VersionLookup: ...
