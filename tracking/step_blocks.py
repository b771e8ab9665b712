"""The steps a client may give to ``step=None`` points: blocks it reserved in the store, per run and key.

Several processes logging to one run each get blocks of their own, so no two points of a key
ever share a step (which the store's first-wins rule would silently drop). A flush gives the
unused rest of each block back, so a writer that hands a run over leaves no gap; writers that
interleave may skip steps, never repeat one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping

from tracking.limits import AUTO_STEP_BLOCK, AUTO_STEP_FIRST_BLOCK

__all__ = ["StepBlocks"]

Reserve = Callable[[str, Mapping[str, tuple[int, int]]], dict[str, int]]  # run, {key: (at_least, count)}
Release = Callable[[str, Mapping[str, tuple[int, int]]], None]  # run, {key: (end, used)}


class _Held:
    """One key's blocks (ascending, disjoint) and the step after the last one handed out."""

    __slots__ = ("ends", "starts", "used")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.used = 0

    def find(self, wanted: int) -> int | None:
        if self.starts and self.starts[-1] <= wanted < self.ends[-1]:  # the common case
            return wanted
        i = bisect_right(self.ends, wanted)
        return max(wanted, self.starts[i]) if i < len(self.ends) else None


class StepBlocks:
    """Per (run, key), the blocks of steps this client holds. Not thread-safe: the client's lock."""

    def __init__(self, reserve: Reserve, release: Release) -> None:
        self._reserve = reserve
        self._release = release
        self._held: dict[tuple[str, str], _Held] = {}

    def steps(self, run_id: str, wanted: Mapping[str, int]) -> dict[str, int]:
        """For each key, the smallest held step ``>= wanted[key]``; reserves what is missing in one call."""
        out: dict[str, int] = {}
        missing: dict[str, tuple[int, int]] = {}
        for key, step in wanted.items():
            held = self._held.get((run_id, key))
            found = None if held is None else held.find(step)
            if found is None:
                # Blocks grow from small to AUTO_STEP_BLOCK: a writer that logs a few points
                # reserves only a few steps; one that logs many makes one call per block.
                n_blocks = 0 if held is None else len(held.ends)
                missing[key] = (step, min(AUTO_STEP_BLOCK, AUTO_STEP_FIRST_BLOCK << n_blocks))
            else:
                out[key] = found
        if missing:
            for key, start in self._reserve(run_id, missing).items():
                held = self._held.setdefault((run_id, key), _Held())
                held.starts.append(start)  # the store's counter only grows: the lists stay sorted
                held.ends.append(start + missing[key][1])
                out[key] = start
        for key, step in out.items():
            held = self._held[(run_id, key)]
            held.used = max(held.used, step + 1)
        return out

    def give_back(self) -> None:
        """Return the unused end of every newest block (kept as a gap if another writer reserved since)."""
        by_run: dict[str, dict[str, tuple[int, int]]] = {}
        for (run_id, key), held in self._held.items():
            by_run.setdefault(run_id, {})[key] = (held.ends[-1], max(held.used, held.starts[-1]))
        self._held.clear()
        for run_id, unused in by_run.items():
            self._release(run_id, unused)
