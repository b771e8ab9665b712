"""An artifact store that keeps files in memory, so a worker can ship them to the coordinator.

Used when the artifact root is a local path of the coordinator's node and the trial runs on
another node: the bytes travel with a coordinator call, which writes them into the run.
"""

from __future__ import annotations

import os
from pathlib import Path

from tracking.artifacts import ArtifactStore, safe_name

__all__ = ["ShippingStore", "is_local_uri"]


def is_local_uri(uri: str) -> bool:
    """True for a plain path or ``file://`` URL (a folder of one machine)."""
    return "://" not in uri or uri.startswith("file://")


class ShippingStore(ArtifactStore):
    """Collects writes as ``{name: bytes}`` under the run's real URI (so model metadata is right)."""

    def __init__(self, artifact_uri: str) -> None:
        super().__init__(artifact_uri)
        self.files: dict[str, bytes] = {}

    def put_bytes(self, data: bytes, name: str) -> str:
        target = safe_name(name)
        self.files[target] = bytes(data)
        return target

    def put_file(self, local: str | os.PathLike[str], name: str | None = None) -> str:
        source = Path(local)
        if source.is_dir():
            return super().put_file(source, name)  # recurses into put_file per file
        if not source.exists():
            raise FileNotFoundError(f"artifact source {source} does not exist")
        return self.put_bytes(source.read_bytes(), name or source.name)
