"""Small checks shared by the config validators: each records a problem and returns None."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from sweeps.errors import ConfigProblem, did_you_mean

if TYPE_CHECKING:
    from sweeps.config.loader import KeyPath, RawConfig

__all__ = ["Checker", "describe"]

T = TypeVar("T")


def describe(value: object) -> str:
    """A value as a YAML user would write it, for `got ...` in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str | int | float):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


class Checker:
    """Collects problems against a RawConfig; each check returns the value or None if wrong."""

    def __init__(self, raw: RawConfig) -> None:
        self.raw = raw
        self.problems: list[ConfigProblem] = list(raw.problems)

    def error(self, path: KeyPath, message: str) -> None:
        self.problems.append(self.raw.problem(path, message))

    def mapping(
        self, path: KeyPath, value: object, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, object] | None:
        """The known keys of a mapping; unknown keys and missing required ones are problems."""
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {describe(value)}")
            return None
        out: dict[str, object] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            if name in allowed and isinstance(key, str):
                out[name] = item
                continue
            hint = did_you_mean(name, allowed) or f"; expected one of: {', '.join(allowed)}"
            self.error((*path, name), f"unknown key '{name}'{hint}")
        for name in required:
            if name not in out and name not in value:
                self.error((*path, name), "required key is missing")
        return out

    def get(
        self,
        d: Mapping[str, object],
        key: str,
        path: KeyPath,
        check: Callable[[KeyPath, object], T | None],
        default: T | None = None,
    ) -> T | None:
        """`check` the value under `key` if present, else `default`."""
        return check((*path, key), d[key]) if key in d else default

    def integer(
        self,
        path: KeyPath,
        value: object,
        minimum: int | None = None,
        nullable: bool = False,
        maximum: int | None = None,
    ) -> int | None:
        if value is None and nullable:
            return None
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if is_int and (minimum is None or value >= minimum):  # type: ignore[operator]
            if maximum is None or value <= maximum:  # type: ignore[operator]
                return value  # type: ignore[return-value]
            self.error(path, f"expected at most {maximum:,}, got {describe(value)}")
            return None
        words = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}
        what = words.get(minimum, f"an integer >= {minimum}")
        self.error(path, f"expected {what}{' or null' if nullable else ''}, got {describe(value)}")
        return None

    def number(
        self,
        path: KeyPath,
        value: object,
        positive: bool = False,
        non_negative: bool = False,
        nullable: bool = False,
        maximum: float | None = None,
    ) -> float | None:
        if value is None and nullable:
            return None
        what = "a positive number" if positive else "a non-negative number" if non_negative else ("a number")
        what += " or null" if nullable else ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                self.error(path, f"number too large: {describe(value)}")
                return None
            if not math.isfinite(number):
                self.error(path, f"expected a finite number, got {describe(value)}")
                return None
            if (positive and number <= 0) or (non_negative and number < 0):
                self.error(path, f"expected {what}, got {describe(value)}")
                return None
            if maximum is not None and number > maximum:
                self.error(path, f"expected at most {maximum:,}, got {describe(value)}")
                return None
            return value if isinstance(value, int) else number  # type: ignore[return-value]
        self.error(path, f"expected {what}, got {describe(value)}")
        return None

    def boolean(self, path: KeyPath, value: object) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(path, f"expected true or false, got {describe(value)}")
        return None

    def string(
        self,
        path: KeyPath,
        value: object,
        nullable: bool = False,
        pattern: re.Pattern[str] | None = None,
        what: str = "a non-empty string",
    ) -> str | None:
        if value is None and nullable:
            return None
        if isinstance(value, str) and value.strip() and (pattern is None or pattern.fullmatch(value)):
            return value
        self.error(path, f"expected {what}{' or null' if nullable else ''}, got {describe(value)}")
        return None

    def choice(self, path: KeyPath, value: object, options: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in options:
            return value
        hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
        self.error(path, f"expected one of {' | '.join(options)}, got {describe(value)}{hint}")
        return None
