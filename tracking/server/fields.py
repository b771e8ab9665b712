"""Typed reads of a request's JSON object: each field checked once, a bad one is a 400 naming it."""

from __future__ import annotations

from collections.abc import Mapping

from tracking.errors import InvalidParameter, RunNotFound
from tracking.validation import INT64_MAX, INT64_MIN, check_run_id
from tracking.wire import WireError


def _int64(value: int, name: str) -> int:
    # Every integer of the API is a BIGINT column or compared with one: larger ones are no id.
    if not INT64_MIN <= value <= INT64_MAX:
        raise WireError(f"{name} {value} is outside the 64-bit integer range")
    return value


def _clean(value: str, name: str) -> str:
    if "\x00" in value:  # no field holds NUL (PostgreSQL text cannot): refused on every store alike
        raise WireError(f"field {name!r} contains a NUL character")
    try:
        value.encode("utf-8")  # JSON escapes can make lone surrogates no database can store
    except UnicodeEncodeError:
        raise WireError(f"field {name!r} holds text that is not valid Unicode") from None
    return value


def text(body: Mapping, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise WireError(f"field {name!r} must be a string, got {type(value).__name__}")
    return _clean(value, name)


def opt_text(body: Mapping, name: str) -> str | None:
    return None if body.get(name) is None else text(body, name)


def integer(body: Mapping, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"field {name!r} must be an integer, got {type(value).__name__}")
    return _int64(value, f"field {name!r}")


def opt_integer(body: Mapping, name: str) -> int | None:
    return None if body.get(name) is None else integer(body, name)


def flag(body: Mapping, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise WireError(f"field {name!r} must be true or false, got {type(value).__name__}")
    return value


def texts(body: Mapping, name: str) -> dict[str, str]:
    """A JSON object of strings to strings (absent or null: empty)."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise WireError(f"field {name!r} must be an object of strings")
    return {_clean(k, name): _clean(v, name) for k, v in value.items()}


def text_list(body: Mapping, name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WireError(f"field {name!r} must be a list of strings")
    return [_clean(v, name) for v in value]


def int_list(body: Mapping, name: str) -> list[int]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise WireError(f"field {name!r} must be a list of integers")
    return [_int64(v, f"field {name!r}") for v in value]


def parse_int(value: str | None, name: str) -> int | None:
    """An integer from a path or query string (None stays None)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise WireError(f"{name} must be an integer, got {value[:40]!r}") from None
    return _int64(number, name)


def _could_be_run(value: str) -> bool:
    try:
        check_run_id(value)  # every stored id passed it (or is a uuid hex)
    except InvalidParameter:
        return False
    return True


def run_ref(value: str) -> str:
    """A run id from a request; one no run can have is unknown without a query."""
    if not _could_be_run(value):
        raise RunNotFound(f"no run with id {value[:64]!r}")
    return value


def run_refs(values: list[str]) -> list[str]:
    """The ids that could name a run (lookups skip unknown ids, so the others are left out)."""
    return [v for v in values if _could_be_run(v)]
