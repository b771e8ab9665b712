"""The driver's record of a trial that has not ended yet: its Optuna handle, its run, its attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import optuna
from optuna.distributions import BaseDistribution

if TYPE_CHECKING:
    from sweeps.engine.groups import RepeatGroup

__all__ = ["LiveTrial"]


@dataclass
class LiveTrial:
    """One trial between its launch and its end, as the coordinator's parts share it."""

    number: int
    handle: optuna.Trial
    run_id: str
    artifact_uri: str
    params: dict[str, object]
    distributions: dict[str, BaseDistribution]
    attempt: int = 0
    worker_id: str | None = None
    started: float = field(default_factory=time.monotonic)
    reported_steps: set[int] = field(default_factory=set)
    held_reports: dict[int, float] = field(default_factory=dict)  # no pruner: given to Optuna if pruned
    new_params: dict[str, object] = field(default_factory=dict)  # define-by-run, not yet stored
    closed: bool = False  # its end is decided; only the trial closer touches it from then on
    group: RepeatGroup | None = None  # `repeats:`: the configuration this run is one repeat of
    repeat: int = 0  # its index in `repeats.values`
    output_tail: str | None = None  # a failed trial's last lines of output, shown with its error
