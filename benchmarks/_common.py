"""Shared helpers of the benchmarks: timing, a throwaway PostgreSQL, and table printing."""

from __future__ import annotations

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


# A throwaway server sized for bulk loads, as a team's PostgreSQL would be (the test
# defaults, 128 MB of shared buffers and 1 GB of WAL between checkpoints, make a
# multi-million-row run measure page eviction and checkpoints). Every peer shares it.
BENCH_POSTGRES_SETTINGS = "-c shared_buffers=1GB -c wal_buffers=64MB -c max_wal_size=8GB -c checkpoint_timeout=30min"


@contextmanager
def postgres_databases(one_at_a_time: bool = False) -> Iterator[Callable[[], str] | None]:
    """A maker of fresh databases on ``$SWEEPS_TEST_POSTGRES`` or a throwaway local server; None if neither.

    `one_at_a_time` drops the databases made before each new one, so every run starts from
    the same server state (no earlier run's pages to evict, no earlier run's WAL to check).
    """
    try:
        from tests.support import postgres
    except ImportError:
        yield None
        return
    try:
        server = postgres.start(BENCH_POSTGRES_SETTINGS)
    except postgres.PostgresUnavailable as exc:
        print(f"PostgreSQL unavailable: {exc}")
        yield None
        return
    try:

        def make() -> str:
            if one_at_a_time:
                server.drop_created()
            return server.create_database("sweeps_bench")

        yield make
    finally:
        server.stop()
