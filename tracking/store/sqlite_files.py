"""What is wrong with a SQLite store's path, said in its own terms (no database-server advice)."""

from __future__ import annotations

import os
from pathlib import Path

from tracking.errors import StoreError


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (None: in memory, or not SQLite)."""
    if not uri.startswith("sqlite"):
        return None
    rest = uri.partition(":///")[2]
    return Path(rest) if rest and rest != ":memory:" else None


def path_problem(path: Path) -> str | None:
    """Why a SQLite store at ``path`` cannot be opened for writing, if its path says so (None: it looks fine).

    SQLite writes next to the file (its -wal and -shm files) even to read a store in WAL mode,
    so the folder must be writable too.
    """
    if path.is_dir():
        return f"{path} is a folder, not a store file; give the file, e.g. sqlite:///{path / 'sweeps.db'}"
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist; create it, or give a store path in an existing folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"the folder {folder} is read-only, and SQLite writes its -wal and -shm files next to the store "
            "(even to read it); copy the store to a writable folder"
        )
    if path.exists() and not os.access(path, os.W_OK):
        return f"the store file {path} is read-only (its permissions); a sweep writes to its store"
    return None


def require_existing(uri: str) -> None:
    """Refuse a SQLite store whose file does not exist: reading must never create an empty store."""
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        raise StoreError(f"no store at {path}: pass --store (or set $SWEEPS_STORE) to the store your sweeps wrote to")
