"""What the registry needs from the tracking client it serves: its user, runs and their artifacts.

A structural protocol, so that the registry never imports the client that builds it.
"""

from __future__ import annotations

from typing import Protocol

from tracking.entities import Run
from tracking.models._source import ModelSource


class RegistryHost(ModelSource, Protocol):
    """`tracking.TrackingClient` as the registry uses it."""

    @property
    def user(self) -> str:
        """Who acts, when a call names no ``actor``."""
        ...

    def get_run(self, run_id: str) -> Run: ...
