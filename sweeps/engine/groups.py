"""`repeats:`: one sampled configuration run once per repeat value, told to Optuna as one trial (the mean).

Plain bookkeeping under the coordinator's lock: which repeats are left to launch, the repeats'
reports per step (the pruner sees their mean once every live repeat reported the step) and
their ends (the group's outcome once the last one ended).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import optuna

from sweeps.config import Repeats
from tracking.entities import RunStatus

__all__ = ["Groups", "RepeatGroup"]


@dataclass
class RepeatGroup:
    """The repeats of one configuration: one Optuna trial, several runs."""

    handle: optuna.Trial
    params: dict[str, object]  # the sampled configuration, without the repeat param
    param: str
    values: tuple[object, ...]
    launched: int = 0
    number: int | None = None  # the trial number of its first repeat: the configuration's name
    runs: dict[int, tuple[int, str]] = field(default_factory=dict)  # repeat index -> (trial number, run id)
    ends: dict[int, tuple[RunStatus, float | None]] = field(default_factory=dict)
    reports: dict[int, dict[int, float]] = field(default_factory=dict)  # step -> repeat index -> value
    told_steps: set[int] = field(default_factory=set)
    held: dict[int, float] = field(default_factory=dict)  # means not given to a pruner (none asks)
    pruned: bool = False
    stopped: bool = False  # the sweep stopped: no more repeats launch
    told: tuple[RunStatus, float | None] | None = None  # what Optuna was told, once the last repeat ended

    @property
    def pending(self) -> bool:
        return not self.pruned and not self.stopped and self.launched < len(self.values)

    def next_params(self) -> tuple[int, dict[str, object]]:
        """The next repeat's index and params (the configuration plus its repeat value)."""
        index = self.launched
        self.launched += 1
        return index, {**self.params, self.param: self.values[index]}

    def started(self, index: int, number: int, run_id: str) -> None:
        self.runs[index] = (number, run_id)
        if self.number is None:
            self.number = number

    def report(self, index: int, step: int, value: float) -> list[tuple[int, float]]:
        """Record a repeat's report; returns the (step, mean) pairs that just became complete."""
        self.reports.setdefault(step, {})[index] = value
        return self._complete_steps()

    def _alive(self) -> set[int]:
        failed = {i for i, (status, _) in self.ends.items() if status in (RunStatus.FAILED, RunStatus.KILLED)}
        return set(range(self.launched if self.pruned or self.stopped else len(self.values))) - failed

    def _complete_steps(self) -> list[tuple[int, float]]:
        alive = self._alive()
        out = []
        for step in sorted(self.reports):
            seen = self.reports[step]
            if step in self.told_steps or not alive or not alive <= set(seen):
                continue
            self.told_steps.add(step)
            out.append((step, statistics.fmean(seen[i] for i in alive)))
        return out

    def ended(self, index: int, status: RunStatus, value: float | None) -> bool:
        """Record how a repeat ended; True when it was the group's last."""
        self.ends[index] = (status, value)
        return not self.pending and len(self.ends) >= self.launched

    def outcome(self) -> tuple[RunStatus, float | None]:
        """The configuration's end: the mean of its finished repeats, PRUNED if the pruner stopped it."""
        finished = [v for status, v in self.ends.values() if status is RunStatus.FINISHED and v is not None]
        if self.pruned or any(status is RunStatus.PRUNED for status, _ in self.ends.values()):
            return RunStatus.PRUNED, None
        if not finished:
            return RunStatus.FAILED, None
        return RunStatus.FINISHED, statistics.fmean(finished)

    def closest(self, mean: float) -> tuple[int, str]:
        """The finished repeat whose value is closest to `mean`: (trial number, run id) of the group's model."""
        finished = [
            (abs(v - mean), self.runs[i])
            for i, (s, v) in self.ends.items()
            if s is RunStatus.FINISHED and v is not None
        ]
        return min(finished)[1]


class Groups:
    """The sweep's repeat groups still open, and the next trial number to hand out."""

    def __init__(self, repeats: Repeats, next_number: int) -> None:
        self._repeats = repeats
        self._open: list[RepeatGroup] = []
        self.next_number = next_number

    def new(self, handle: optuna.Trial, params: dict[str, object]) -> RepeatGroup:
        base = {k: v for k, v in params.items() if k != self._repeats.param}
        group = RepeatGroup(handle, base, self._repeats.param, self._repeats.values)
        self._open.append(group)
        return group

    def pending(self) -> RepeatGroup | None:
        """The oldest group with a repeat left to launch (repeats of one configuration run together)."""
        self._open = [g for g in self._open if g.told is None]
        return next((g for g in self._open if g.pending), None)

    def take_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def launch(self, group: RepeatGroup) -> tuple[int, int, dict[str, object]]:
        """The next repeat of ``group``: its trial number, repeat index and params.

        The group is named by its first repeat's number from this moment on, not once that repeat
        has started: repeats launch in parallel, each run's group tag written as it is created.
        """
        index, params = group.next_params()
        number = self.take_number()
        if group.number is None:
            group.number = number
        return number, index, params

    def close(self, group: RepeatGroup) -> None:
        if group in self._open:
            self._open.remove(group)

    def stop(self) -> None:
        for group in self._open:
            group.stopped = True
