"""API tokens: ``swp_<id>_<secret>``, random, shown once; only an argon2id hash of the secret is kept."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracking.errors import Unauthenticated

PREFIX = "swp_"
_ID_BYTES = 8  # 16 hex characters: the row's key, not a secret
_SECRET_BYTES = 32  # 256 random bits
_SHAPE = re.compile(r"swp_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{20,128})")
# argon2-cffi's defaults (RFC 9106's low-memory profile). A token's secret has 256 random bits, so
# the hash is not what keeps it safe; it keeps a leaked table from being replayed as tokens.
_HASHER = PasswordHasher()
NOT_AUTHENTICATED = "no valid token: pass token= or set $SWEEPS_TOKEN to a token from `sweeps auth token add`"


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token as handed out once: the full text for the user, and what the store keeps."""

    token_id: str
    text: str  # swp_<id>_<secret>: printed once, never stored
    secret_hash: str


def new_token() -> NewToken:
    token_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewToken(token_id, f"{PREFIX}{token_id}_{secret}", _HASHER.hash(secret))


def parse(text: str | None) -> tuple[str, str]:
    """``(token_id, secret)`` of a token's text; `Unauthenticated` (never echoing it) for anything else."""
    match = _SHAPE.fullmatch(text.strip()) if text else None
    if match is None:
        raise Unauthenticated(NOT_AUTHENTICATED)
    return match["id"], match["secret"]


def matches(secret: str, secret_hash: str) -> bool:
    """Whether ``secret`` is the one ``secret_hash`` was made from (argon2's own constant-time check)."""
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
