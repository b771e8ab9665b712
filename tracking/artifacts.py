"""Artifact storage: a per-run folder under a local path or any fsspec URL, names kept inside it."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

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


class Artifacts(Protocol):
    """One run's artifact folder, as the client, models and registry use it.

    `ArtifactStore` is the folder itself (local or fsspec); the HTTP store streams the same
    calls through the server. Names are checked by `safe_name` on whichever side writes.
    """

    uri: str  # where the folder lives, for display

    def put_file(self, local: str | os.PathLike[str], name: str | None = None) -> str: ...
    def put_bytes(self, data: bytes, name: str) -> str: ...
    def put_json(self, obj: object, name: str) -> str: ...
    def read_bytes(self, name: str) -> bytes: ...
    def list(self, path: str | None = None) -> list[ArtifactInfo]: ...
    def download(self, path: str | None, destination: str | os.PathLike[str]) -> Path: ...
    def local_path(self, name: str) -> Path | None: ...


class Files(Protocol):
    """The part of an fsspec filesystem that :class:`ArtifactStore` uses."""

    protocol: str | tuple[str, ...]

    def makedirs(self, path: str, exist_ok: bool = False) -> None: ...
    def put_file(self, lpath: str, rpath: str) -> None: ...
    def get_file(self, rpath: str, lpath: str) -> None: ...
    def open(self, path: str, mode: str) -> AbstractContextManager[IO[bytes]]: ...
    def exists(self, path: str) -> bool: ...
    def isdir(self, path: str) -> bool: ...
    def ls(self, path: str, detail: bool) -> list[dict]: ...
    def find(self, path: str) -> list[str]: ...


class LocalFiles:
    """:class:`Files` on this machine's disk, with plain ``os`` calls.

    Local folders are the common case and trial workers write there; importing fsspec
    for them would add its import time to every worker's start.
    """

    protocol = ("file", "local")

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def put_file(self, lpath: str, rpath: str) -> None:
        shutil.copyfile(lpath, rpath)

    def get_file(self, rpath: str, lpath: str) -> None:
        shutil.copyfile(rpath, lpath)

    def open(self, path: str, mode: str) -> AbstractContextManager[IO[bytes]]:
        return open(path, mode)  # the caller closes it, as with fsspec

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def ls(self, path: str, detail: bool = True) -> list[dict]:
        """Entries of a folder (or the file itself), shaped like fsspec's ``ls(detail=True)``."""
        if not os.path.isdir(path):
            return [_info(path)]
        with os.scandir(path) as entries:
            return [_info(entry.path) for entry in entries]

    def find(self, path: str) -> list[str]:
        """Every file below ``path``, sorted, as fsspec's ``find`` gives them."""
        if not os.path.isdir(path):
            return [path] if os.path.exists(path) else []
        return sorted(_walk_files(path))


def _info(path: str) -> dict:
    try:
        size: int | None = os.stat(path).st_size
    except OSError:  # a dangling link
        size = 0
    return {"name": path, "type": "directory" if os.path.isdir(path) else "file", "size": size}


def _walk_files(root: str) -> Iterator[str]:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield f"{folder}/{name}"


def _filesystem(uri: str) -> tuple[Files, str]:
    """The filesystem and root path for ``uri``; fsspec only for a URL that is not a local path."""
    if "://" not in uri or uri.startswith("file://"):
        path = os.path.abspath(os.path.expanduser(uri.removeprefix("file://")))
        return LocalFiles(), path
    import fsspec

    return fsspec.core.url_to_fs(uri)


class ArtifactStore:
    """Reads and writes one run's artifacts at ``artifact_uri`` (local path or fsspec URL)."""

    def __init__(self, artifact_uri: str) -> None:
        self.uri = artifact_uri.rstrip("/")
        self.fs, self.root = _filesystem(self.uri)

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
