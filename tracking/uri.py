"""Store URIs: resolve the default, check the scheme, and mask passwords for display."""

from __future__ import annotations

import os
import re

from tracking.errors import InvalidURI

DEFAULT_STORE = "sqlite:///sweeps.db"
STORE_ENV = "SWEEPS_STORE"
ARTIFACTS_ENV = "SWEEPS_ARTIFACTS"
DEFAULT_ARTIFACTS = "artifacts"

_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "http": "http",  # a Sweeps server (`sweeps server`)
    "https": "https",
}
_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)")


def mask_password(text: str) -> str:
    """Replace the password of every URI inside ``text`` with ``***``."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)


def resolve_store_uri(uri: str | None) -> str:
    """The URI to use: ``uri``, else ``$SWEEPS_STORE``, else ``sqlite:///sweeps.db``."""
    resolved = uri or os.environ.get(STORE_ENV) or DEFAULT_STORE
    scheme, sep, rest = resolved.partition("://")
    if not sep and resolved.partition(":")[0].lower() in _SCHEMES:  # "sqlite:/x.db": slashes missing
        kind = resolved.partition(":")[0]
        example = (
            "sqlite:///relative/path.db or sqlite:////absolute/path.db"
            if kind.lower() == "sqlite"
            else f"{kind}://host:port" + ("" if kind.lower().startswith("http") else "/db")
        )
        raise InvalidURI(f"store URI {mask_password(resolved)!r} is missing the '//' after '{kind}:'; use {example}")
    if not sep:
        raise InvalidURI(
            f"store URI {mask_password(resolved)!r} has no scheme; "
            "use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )
    driver = _SCHEMES.get(scheme.lower())
    if driver is None:
        raise InvalidURI(
            f"unknown store URI scheme {scheme!r} in {mask_password(resolved)!r}; "
            "supported: sqlite:///path.db, postgresql+psycopg://user:password@host:port/db, http(s)://server:port"
        )
    if driver == "sqlite" and rest not in ("", "/:memory:") and not rest.startswith("/"):
        raise InvalidURI(f"sqlite URI {resolved!r} must look like sqlite:///relative.db or sqlite:////abs.db")
    if driver in ("http", "https"):
        if not rest.strip("/") or "@" in rest.partition("/")[0]:
            raise InvalidURI(
                f"server URI {mask_password(resolved)!r} must look like http://host:port "
                "(the token goes in token= or $SWEEPS_TOKEN, never in the URI)"
            )
        return f"{driver}://{rest.rstrip('/')}"
    return f"{driver}://{rest}"


def is_http(uri: str) -> bool:
    """True for a Sweeps server's URI (``http://`` or ``https://``)."""
    return uri.startswith(("http://", "https://"))


def is_sqlite(uri: str) -> bool:
    return uri.startswith("sqlite")


def resolve_artifact_root(root: str | None) -> str:
    """Artifact root: ``root``, else ``$SWEEPS_ARTIFACTS``, else ``./artifacts`` made absolute."""
    chosen = root or os.environ.get(ARTIFACTS_ENV) or DEFAULT_ARTIFACTS
    if "://" in chosen and not chosen.startswith("file://"):
        return chosen.rstrip("/")
    if chosen.startswith("file://"):
        chosen = chosen[len("file://") :]
    return os.path.abspath(chosen)
