"""Checks on keys and values before they reach the store; each error names the culprit."""

from __future__ import annotations

import math
import numbers
import re

from tracking.errors import InvalidParameter
from tracking.limits import KEY_LEN, RUN_ID_LEN

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Run ids end up in URIs (runs:/<id>/model) and artifact paths: letters, digits, '_' and '-'.
_RUN_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{RUN_ID_LEN}}}")
MAX_PARAM_VALUE_LEN = 6000
# Steps and timestamps are BIGINT columns on both stores.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def check_key(kind: str, key: object) -> str:
    """A metric/param/tag key: non-empty text, at most 250 characters, no control chars."""
    if not isinstance(key, str):
        raise InvalidParameter(f"{kind} key must be a string, got {type(key).__name__} {key!r}")
    if not key.strip():
        raise InvalidParameter(f"{kind} key must not be empty")
    if len(key) > KEY_LEN:
        raise InvalidParameter(f"{kind} key {key[:40]!r}... is {len(key)} characters; the limit is {KEY_LEN}")
    if _CONTROL.search(key):
        raise InvalidParameter(f"{kind} key {key!r} contains a control character")
    return key


def check_metric_value(key: str, value: object) -> float:
    """A metric value: a real number (NaN and ±inf allowed); never text or bool."""
    if type(value) is float:  # by far the common case: skip the ABC checks (bool is never a float)
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter(f"metric {key!r}: value must be a number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise InvalidParameter(f"metric {key!r}: value is too large for a 64-bit float") from None


def check_step(key: str, step: object) -> int:
    if type(step) is int and INT64_MIN <= step <= INT64_MAX:  # the common case (type(True) is bool)
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidParameter(f"metric {key!r}: step must be an integer, got {step!r}")
    if not INT64_MIN <= int(step) <= INT64_MAX:
        raise InvalidParameter(f"metric {key!r}: step {step} is outside the 64-bit integer range")
    return int(step)


def check_timestamp(key: str, timestamp: object) -> int:
    """A point's timestamp in epoch milliseconds (a float is truncated), within the 64-bit range."""
    if type(timestamp) is int and INT64_MIN <= timestamp <= INT64_MAX:  # the common case
        return timestamp
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real) or not math.isfinite(timestamp):
        raise InvalidParameter(f"metric {key!r}: timestamp must be epoch milliseconds, got {timestamp!r}")
    if not INT64_MIN <= int(timestamp) <= INT64_MAX:
        raise InvalidParameter(f"metric {key!r}: timestamp {timestamp} is outside the 64-bit integer range")
    return int(timestamp)


def check_run_name(name: object) -> str | None:
    """A run's display name: None (a default is made up), or text of at most 250 characters."""
    if name is None or name == "":
        return None
    if not isinstance(name, str):
        raise InvalidParameter(f"run name must be a string, got {type(name).__name__} {name!r}")
    if len(name) > KEY_LEN:
        raise InvalidParameter(f"run name {name[:40]!r}... is {len(name)} characters; the limit is {KEY_LEN}")
    if "\x00" in name:
        raise InvalidParameter(f"run name {name!r} contains a NUL character")
    return name


def check_run_id(run_id: object) -> str:
    """A run id chosen by the caller: 1 to 32 letters, digits, ``_`` or ``-``."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidParameter(
            f"run_id {run_id!r} is not a valid run id: use 1 to {RUN_ID_LEN} letters, digits, '_' or '-'"
        )
    return run_id


def param_text(key: str, value: object) -> str:
    """The stored text of a param value; long values are refused rather than truncated."""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL; refuse it on every store so both behave alike.
        raise InvalidParameter(f"value of {key!r} contains a NUL character")
    if len(text) > MAX_PARAM_VALUE_LEN:
        raise InvalidParameter(f"param {key!r}: value is {len(text)} characters; the limit is {MAX_PARAM_VALUE_LEN}")
    return text
