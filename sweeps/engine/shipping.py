"""An artifact store that keeps files in memory, so a worker can ship them to the coordinator.

Used when the artifact root is a local path of the coordinator's node and the trial runs on
another node: the bytes travel with a coordinator call, which writes them into the run.
"""

from __future__ import annotations

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

    def _put_checked(self, source: Path, target_name: str, written: list[str]) -> str:
        # `ArtifactStore.put_file` has checked every name and link; each file lands here.
        self.files[target_name] = source.read_bytes()
        return target_name
