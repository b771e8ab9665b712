"""Artifact storage: a per-run folder under a local path or any fsspec URL, names kept inside it."""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

import fsspec

from tracking.errors import InvalidArtifactPath


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    path: str  # relative to the run's artifact folder, '/'-separated
    is_dir: bool
    size: int | None


def safe_name(name: str) -> str:
    """A relative, normalised artifact name; refuses anything that would leave the run folder."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArtifactPath("artifact name must be a non-empty string")
    if "\x00" in name or "\\" in name:
        raise InvalidArtifactPath(f"artifact name {name!r} contains a NUL or backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "://" in name:
        raise InvalidArtifactPath(f"artifact name {name!r} is absolute; give a path inside the run")
    parts = name.split("/")
    if any(part == ".." for part in parts):
        raise InvalidArtifactPath(f"artifact name {name!r} would escape the run's artifact folder")
    normalised = posixpath.normpath(name)
    if normalised in (".", "", "..") or normalised.startswith("../"):
        raise InvalidArtifactPath(f"artifact name {name!r} does not name a file inside the run")
    return normalised


class ArtifactStore:
    """Reads and writes one run's artifacts at ``artifact_uri`` (local path or fsspec URL)."""

    def __init__(self, artifact_uri: str) -> None:
        self.uri = artifact_uri.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.uri)

    def _path(self, name: str) -> str:
        return f"{self.root}/{safe_name(name)}"

    def put_file(self, local: str | os.PathLike[str], name: str | None = None) -> str:
        source = Path(local)
        if not source.exists():
            raise FileNotFoundError(f"artifact source {source} does not exist")
        if source.is_dir():
            base = safe_name(name or source.name)
            # Check every name before copying anything: a refused tree leaves no partial copy.
            files = [
                (file, safe_name(f"{base}/{file.relative_to(source).as_posix()}"))
                for file in sorted(p for p in source.rglob("*") if p.is_file())
            ]
            for file, target_name in files:
                self._put_checked(file, target_name)
            return base
        return self._put_checked(source, safe_name(name or source.name))

    def _put_checked(self, source: Path, target_name: str) -> str:
        target = f"{self.root}/{target_name}"
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        self.fs.put_file(str(source), target)
        return target_name

    def put_bytes(self, data: bytes, name: str) -> str:
        target_name = safe_name(name)
        target = self._path(target_name)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        with self.fs.open(target, "wb") as fh:
            fh.write(data)
        return target_name

    def put_json(self, obj: object, name: str) -> str:
        return self.put_bytes(json.dumps(obj, indent=2, sort_keys=True, default=str).encode(), name)

    def read_bytes(self, name: str) -> bytes:
        with self.fs.open(self._path(name), "rb") as fh:
            return fh.read()

    def list(self, path: str | None = None) -> list[ArtifactInfo]:
        base = self._path(path) if path else self.root
        if not self.fs.exists(base):
            return []
        out = []
        for entry in self.fs.ls(base, detail=True):
            full = entry["name"].rstrip("/")
            rel = posixpath.relpath(full, self.root.rstrip("/") if self.root != "/" else "/")
            out.append(ArtifactInfo(rel, entry["type"] == "directory", entry.get("size")))
        return sorted(out, key=lambda a: a.path)

    def download(self, path: str | None, destination: str | os.PathLike[str]) -> Path:
        """Copy one artifact (file or folder) or, with ``path=None``, all of them, to ``destination``."""
        dest = Path(destination)
        dest.mkdir(parents=True, exist_ok=True)
        source = self._path(path) if path else self.root
        if not self.fs.exists(source):
            raise FileNotFoundError(f"no artifact {path!r} under {self.uri}")
        if self.fs.isdir(source):
            target = dest / (posixpath.basename(path) if path else "")
            for file in self.fs.find(source):
                rel = posixpath.relpath(file, source)
                local = target / rel
                local.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(file, str(local))
            return target
        local = dest / posixpath.basename(source)
        self.fs.get_file(source, str(local))
        return local

    def local_path(self, name: str) -> Path | None:
        """The artifact's path on this machine when the store is local, else None."""
        if self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol:
            return Path(self._path(name))
        return None
