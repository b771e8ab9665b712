"""Shared helpers of the benchmarks: timing, a throwaway PostgreSQL, and table printing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    items: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def print_table(title: str, results: list[Result], unit: str, baseline: str | None = None) -> None:
    base = next((r for r in results if r.name == baseline), None)
    print(f"\n{title}")
    print(f"{'case':<44} {unit + '/s':>14} {'seconds':>9} {'x ' + (baseline or ''):>18}  note")
    for r in results:
        ratio = f"{r.rate / base.rate:.2f}" if base else ""
        print(f"{r.name:<44} {r.rate:>14,.0f} {r.seconds:>9.2f} {ratio:>18}  {r.note}")


@contextmanager
def postgres_uri() -> Iterator[str | None]:
    """``$SWEEPS_TEST_POSTGRES`` if set, else a throwaway server from the test support code."""
    if os.environ.get("SWEEPS_TEST_POSTGRES"):
        yield os.environ["SWEEPS_TEST_POSTGRES"]
        return
    try:
        from tests.support.postgres import throwaway_postgres
    except ImportError:
        yield None
        return
    with throwaway_postgres() as uri:
        yield uri
