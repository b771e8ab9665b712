"""Checks on keys and values before they reach the store; each error names the culprit."""

from __future__ import annotations

import numbers
import re

from tracking.errors import InvalidParameter
from tracking.store.schema import KEY_LEN

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PARAM_VALUE_LEN = 6000


def check_key(kind: str, key: object) -> str:
    """A metric/param/tag key: non-empty text, at most 250 characters, no control chars."""
    if not isinstance(key, str):
        raise InvalidParameter(f"{kind} key must be a string, got {type(key).__name__} {key!r}")
    if not key.strip():
        raise InvalidParameter(f"{kind} key must not be empty")
    if len(key) > KEY_LEN:
        raise InvalidParameter(
            f"{kind} key {key[:40]!r}... is {len(key)} characters; the limit is {KEY_LEN}"
        )
    if _CONTROL.search(key):
        raise InvalidParameter(f"{kind} key {key!r} contains a control character")
    return key


def check_metric_value(key: str, value: object) -> float:
    """A metric value: a real number (NaN and ±inf allowed); never text or bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameter(
            f"metric {key!r}: value must be a number, got {type(value).__name__} {value!r}"
        )
    return float(value)


def check_step(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidParameter(f"metric {key!r}: step must be an integer, got {step!r}")
    return int(step)


def param_text(key: str, value: object) -> str:
    """The stored text of a param value; long values are refused rather than truncated."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LEN:
        raise InvalidParameter(
            f"param {key!r}: value is {len(text)} characters; the limit is {MAX_PARAM_VALUE_LEN}"
        )
    return text

