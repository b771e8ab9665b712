"""Artifact storage: a per-run folder under a local path or any fsspec URL, names kept inside it."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from tracking.error_text import os_error_reason
from tracking.errors import InvalidArtifactPath, StoreError

# NAME_MAX of ext4, XFS, APFS and NTFS; past it the OS answers a bare "File name too long".
MAX_PART_BYTES = 255
# Leaves room under Linux's PATH_MAX (4,096) for the artifact root and the run's folders.
MAX_NAME_BYTES = 1024


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
    _check_length(normalised)
    return normalised


def _check_length(name: str) -> None:
    shown = name if len(name) <= 60 else f"{name[:40]}...{name[-12:]} ({len(name)} characters)"
    for part in name.split("/"):
        if len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES:
            raise InvalidArtifactPath(
                f"artifact name {shown!r} has a part longer than {MAX_PART_BYTES} bytes, "
                "the most a file system allows; use a shorter name"
            )
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        raise InvalidArtifactPath(
            f"artifact name {shown!r} is {size} bytes, longer than {MAX_NAME_BYTES} bytes; use a shorter name"
        )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def local_sources(local: str | os.PathLike[str], name: str | None = None) -> tuple[str, list[tuple[Path, str]]]:
    """What logging ``local`` as ``name`` stores: its artifact name and ``(file to read, name)`` pairs.

    Every name is checked before the caller copies anything, so a refused tree leaves no partial
    copy. Symbolic links are never followed out of what was logged: a link given as ``local`` is
    refused, and inside a folder only a link to a file in that same folder is kept (as the
    file's content, under the link's name). Anything else would copy, say, /etc/passwd.
    """
    source = Path(local)
    if source.is_symlink():
        raise InvalidArtifactPath(
            f"artifact source {source} is a symbolic link; log the file or folder it points to by its own path"
        )
    if not source.exists():
        raise FileNotFoundError(f"artifact source {source} does not exist")
    base = safe_name(name or source.name)
    if not source.is_dir():
        return base, [(source, base)]
    root = os.path.realpath(source)
    files: list[tuple[Path, str]] = []
    for folder, dirs, names in os.walk(source):  # does not descend into linked folders
        for entry in [*dirs, *names]:
            path = Path(folder, entry)
            rel = path.relative_to(source).as_posix()
            read = _followed_link(path, root, f"{source.name}/{rel}") if path.is_symlink() else path
            if read.is_file():  # folders are walked; pipes and sockets are no artifacts
                files.append((read, safe_name(f"{base}/{rel}")))
    return base, sorted(files, key=lambda pair: pair[1])


def _followed_link(link: Path, root: str, shown: str) -> Path:
    """The file in the logged folder that ``link`` points to; any other link is refused."""
    target = os.path.realpath(link)
    if not _inside(target, root):
        raise InvalidArtifactPath(
            f"{shown} in the logged folder is a symbolic link leading outside it; "
            "only links to files inside the folder are stored (remove the link or copy the file in)"
        )
    if not os.path.exists(target):
        raise InvalidArtifactPath(f"{shown} in the logged folder is a dangling symbolic link; remove it")
    if os.path.isdir(target):
        raise InvalidArtifactPath(
            f"{shown} in the logged folder is a symbolic link to a folder; links to folders are not followed"
        )
    return Path(target)


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
    def rm_file(self, path: str) -> None: ...


class LocalFiles:
    """:class:`Files` on this machine's disk, with plain ``os`` calls.

    Local folders are the common case and trial workers write there; importing fsspec
    for them would add its import time to every worker's start. With a ``root`` (a run's
    artifact folder) no call reads, lists or writes through a symbolic link that leads out
    of it, whoever put the link there; the server streams through these same calls.
    """

    protocol = ("file", "local")

    def __init__(self, root: str | None = None) -> None:
        self.root = root

    def _confined(self, path: str) -> str:
        if self.root is not None:
            root = os.path.realpath(self.root)
            if not _inside(os.path.realpath(path), root):
                raise _outside(path, self.root)
        return path

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(self._confined(path), exist_ok=exist_ok)

    def put_file(self, lpath: str, rpath: str) -> None:
        shutil.copyfile(lpath, self._confined(rpath))

    def get_file(self, rpath: str, lpath: str) -> None:
        shutil.copyfile(self._confined(rpath), lpath)

    def open(self, path: str, mode: str) -> AbstractContextManager[IO[bytes]]:
        return open(self._confined(path), mode)  # the caller closes it, as with fsspec

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def rm_file(self, path: str) -> None:
        os.unlink(self._confined(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def ls(self, path: str, detail: bool = True) -> list[dict]:
        """Entries of a folder (or the file itself), shaped like fsspec's ``ls(detail=True)``."""
        if not os.path.isdir(self._confined(path)):
            return [_info(path)]
        with os.scandir(path) as entries:
            return [_info(entry.path) for entry in entries]

    def find(self, path: str) -> list[str]:
        """Every file below ``path``, sorted, as fsspec's ``find`` gives them."""
        if not os.path.isdir(self._confined(path)):
            return [path] if os.path.exists(path) else []
        return sorted(self._walk_files(path))

    def _walk_files(self, top: str) -> Iterator[str]:
        for folder, dirs, files in os.walk(top):  # does not descend into linked folders
            for name in dirs:
                self._confined(f"{folder}/{name}")  # a linked folder leading out is refused, not skipped
            for name in files:
                yield self._confined(f"{folder}/{name}")


def _outside(path: str, root: str) -> InvalidArtifactPath:
    name = os.path.relpath(path, root).replace(os.sep, "/")
    return InvalidArtifactPath(
        f"artifact {name!r} in {root} is a symbolic link leading outside the run's artifact folder; "
        "it is not read or written through (remove the link)"
    )


def _info(path: str) -> dict:
    try:
        size: int | None = os.stat(path).st_size
    except OSError:  # a dangling link
        size = 0
    return {"name": path, "type": "directory" if os.path.isdir(path) else "file", "size": size}


def _filesystem(uri: str) -> tuple[Files, str]:
    """The filesystem and root path for ``uri``; fsspec only for a URL that is not a local path."""
    if "://" not in uri or uri.startswith("file://"):
        path = os.path.abspath(os.path.expanduser(uri.removeprefix("file://")))
        return LocalFiles(root=path), path
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
        base, files = local_sources(local, name)
        with self._all_or_nothing(base) as written:
            for file, target_name in files:
                self._put_checked(file, target_name, written)
        return base

    def _put_checked(self, source: Path, target_name: str, written: list[str]) -> str:
        """Copy one checked file to ``target_name`` (noted in ``written`` first, to be removed on failure)."""
        target = f"{self.root}/{target_name}"
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        written.append(target)
        self.fs.put_file(str(source), target)
        return target_name

    def put_bytes(self, data: bytes, name: str) -> str:
        target_name = safe_name(name)
        target = self._path(target_name)
        with self._all_or_nothing(target_name) as written:
            self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
            written.append(target)
            with self.fs.open(target, "wb") as fh:
                fh.write(data)
        return target_name

    @contextmanager
    def _all_or_nothing(self, name: str) -> Iterator[list[str]]:
        """Files written in the block are removed if it fails: a full disk leaves no truncated artifact.

        An OS error becomes a `StoreError` that says what it means (a full disk as such).
        """
        written: list[str] = []
        try:
            yield written
        except BaseException as exc:
            for target in written:
                try:
                    if self.fs.exists(target):
                        self.fs.rm_file(target)
                except OSError:
                    pass  # the original error is the one to report
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise StoreError(f"cannot write artifact {name!r} to {self.uri}: {os_error_reason(exc)}") from exc
            raise

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
