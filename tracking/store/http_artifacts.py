"""A run's artifact folder on a server: files streamed up and down in chunks through its API."""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from tracking.artifacts import ArtifactInfo, local_sources, safe_name
from tracking.entities import Run
from tracking.store.http_transport import Transport
from tracking.wire import API, artifact_info_from

CHUNK = 1024 * 1024


class HttpArtifacts:
    """`tracking.artifacts.Artifacts` of one run, through the server (which checks every name again)."""

    def __init__(self, transport: Transport, run: Run) -> None:
        self._transport = transport
        self._base = f"{API}/runs/{quote(run.run_id, safe='')}"
        self.uri = run.artifact_uri  # where the server keeps it, for display

    def __repr__(self) -> str:
        return f"HttpArtifacts({self._transport.base_url}, {self.uri!r})"

    def _file_path(self, name: str) -> str:
        return f"{self._base}/artifacts/{quote(name, safe='/')}"

    def _upload(self, source: Path, name: str) -> str:
        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as fh:
                while block := fh.read(CHUNK):
                    yield block

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(source.stat().st_size)}
        return self._transport.send("PUT", self._file_path(name), chunks, headers=headers).json()["path"]

    def put_file(self, local: str | os.PathLike[str], name: str | None = None) -> str:
        # Every name (and link) checked before the first upload: a refused tree sends nothing.
        base, files = local_sources(local, name)
        for file, target in files:
            self._upload(file, target)
        return base

    def put_bytes(self, data: bytes, name: str) -> str:
        target = safe_name(name)
        headers = {"Content-Type": "application/octet-stream"}
        return self._transport.send("PUT", self._file_path(target), bytes(data), headers=headers).json()["path"]

    def put_json(self, obj: object, name: str) -> str:
        return self.put_bytes(json.dumps(obj, indent=2, sort_keys=True, default=str).encode(), name)

    def read_bytes(self, name: str) -> bytes:
        return self._transport.send("GET", self._file_path(safe_name(name))).content

    def list(self, path: str | None = None) -> list[ArtifactInfo]:
        params = {"path": safe_name(path)} if path else None
        return [artifact_info_from(d) for d in self._transport.call("GET", f"{self._base}/artifacts", params=params)]

    def download(self, path: str | None, destination: str | os.PathLike[str]) -> Path:
        """Copy one artifact (file or folder), or all with ``path=None``, to ``destination``, streamed."""
        dest = Path(destination)
        dest.mkdir(parents=True, exist_ok=True)
        name = safe_name(path) if path else None
        tree = self._transport.call("GET", f"{self._base}/artifact-tree", params={"path": name} if name else None)
        if tree["kind"] == "file":
            assert name is not None
            local = dest / posixpath.basename(name)
            self._fetch(name, local)
            return local
        target = dest / (posixpath.basename(name) if name else "")
        for rel in tree["files"]:
            self._fetch(f"{name}/{rel}" if name else rel, target / safe_name(rel))
        return target

    def _fetch(self, name: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        with open(local, "wb") as fh:
            self._transport.stream_to(self._file_path(name), fh.write)

    def local_path(self, name: str) -> Path | None:
        return None  # the files live on the server
