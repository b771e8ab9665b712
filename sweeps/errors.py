"""Exceptions of the sweeps package: one base, `SweepsError`, and specific subclasses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem", "LeaseLost", "SweepBusy", "SweepsError", "did_you_mean"]


class SweepsError(Exception):
    """Base class of every error the sweeps package raises on purpose."""


class SweepBusy(SweepsError):
    """Another driver owns the sweep (its lease is live): a second `run`/`resume` is refused and
    changes nothing. ``host``, ``pid`` and ``expires_in_s`` name that driver when they are known."""

    def __init__(
        self, message: str, *, host: str | None = None, pid: int | None = None, expires_in_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.host = host
        self.pid = pid
        self.expires_in_s = expires_in_s


class LeaseLost(SweepsError):
    """This driver stopped renewing its sweep's lease long enough for another driver to take it over:
    it launched nothing more and left the sweep to that driver."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a sweep config: where (key path, file, line) and what."""

    path: str
    message: str
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.path, self.message) if p]
        return ": ".join(parts)


class ConfigError(SweepsError, ValueError):
    """A sweep config was refused; `problems` lists everything that was wrong with it."""

    def __init__(self, problems: Iterable[ConfigProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(path="", message=problems)]
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            return lines[0]
        header = f"invalid sweep config ({len(lines)} problems):"
        return "\n".join([header, *(f"  {line}" for line in lines)])

    def __str__(self) -> str:
        return self._render()


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest known name, or an empty string."""
    options = {k.lower(): k for k in known}
    import difflib  # only when a config is wrong: workers import this module too

    close = difflib.get_close_matches(str(word).lower(), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{options[close[0]]}'?)" if close else ""
