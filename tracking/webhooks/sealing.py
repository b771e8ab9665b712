"""Webhook secrets sealed at rest (Fernet: AES-128-CBC + HMAC-SHA256) under a key the store's database lacks.

The key is ``$SWEEPS_WEBHOOK_KEY`` (a Fernet key) when set; otherwise a key file created with
0600 permissions on first use: ``<database>.webhook-key`` next to a SQLite file, else
``~/.config/sweeps/webhook.key`` (on a team server: the server's own machine).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tracking.errors import RegistryError

KEY_ENV = "SWEEPS_WEBHOOK_KEY"
KEY_SUFFIX = ".webhook-key"


def key_file_for(database: str | None) -> Path:
    """Where the key lives when ``$SWEEPS_WEBHOOK_KEY`` is unset: next to a SQLite file, else per user."""
    if database and database != ":memory:":
        return Path(database).with_name(Path(database).name + KEY_SUFFIX)
    return Path.home() / ".config" / "sweeps" / "webhook.key"


class Sealer:
    """Seals and opens webhook secrets with one key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise RegistryError(
                f"${KEY_ENV} (or the webhook key file) is not a Fernet key: "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None

    def __repr__(self) -> str:
        return "Sealer(***)"

    @classmethod
    def for_database(cls, database: str | None) -> Sealer:
        env = os.environ.get(KEY_ENV)
        if env:
            return cls(env.strip().encode())
        return cls(_key_from_file(key_file_for(database)))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise RegistryError(
                "a webhook secret cannot be unsealed with this key (was the key changed or lost?); "
                "remove the webhook and add it again"
            ) from None


def _key_from_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        # O_EXCL: when two processes create it at once, one writes and the other reads that key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key
