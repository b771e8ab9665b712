"""Frozen records that cross the boundary between the coordinator and the trial workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tracking.entities import MetricPoint
from tracking.point_block import PointBlock

__all__ = ["Outbox", "PruningGate", "TrialAssignment", "TrialOutcome", "WorkerInfo"]

OutcomeState = Literal["complete", "pruned", "failed"]


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """Who runs a trial: a worker id, its host and (on Ray) its node id."""

    worker_id: str
    hostname: str
    node_id: str | None = None

    @property
    def node(self) -> str:
        """The `sweeps.node` tag: ``hostname/node id`` (just the hostname in-process)."""
        return f"{self.hostname}/{self.node_id}" if self.node_id else self.hostname


@dataclass(frozen=True, slots=True)
class PruningGate:
    """When a report must ask the coordinator's pruner; other reports are recorded locally.

    Saves a round trip per step when no pruner is configured or the step is still in the
    pruner's warm-up, where Optuna's answer is known to be "keep going".
    """

    enabled: bool = False
    warmup_steps: int = 0

    def asks(self, step: int) -> bool:
        return self.enabled and step >= self.warmup_steps


@dataclass(frozen=True, slots=True)
class TrialAssignment:
    """One attempt at one trial, handed to a worker: what to run and where to log it."""

    number: int
    run_id: str
    params: Mapping[str, object]
    attempt: int
    artifact_uri: str
    ship_artifacts: bool  # True: artifacts travel as bytes through the coordinator
    metric_names: tuple[str, ...]  # the sweep's metrics: the keys of intermediate and objective points
    pruning: PruningGate = field(default_factory=PruningGate)


@dataclass(frozen=True, slots=True)
class Outbox:
    """What a trial logged since its last call to the coordinator, sent along with that call.

    Metric points travel as one `PointBlock` (columns, pickled as a few byte strings): the
    coordinator checks and stores them per key, not per point. The trial's reports and its
    objective values are points of that block too (`intermediate.<metric>`,
    `objective.<metric>`); `reports` repeats the (step, value) pairs for Optuna only.
    """

    block: PointBlock | None = None
    reports: tuple[tuple[int, float], ...] = ()  # (step, value) not yet seen by the pruner; stored via the block
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool((self.block is not None and len(self.block)) or self.reports or self.params or self.tags)

    @property
    def points(self) -> tuple[MetricPoint, ...]:
        """The block's points one by one (for tests and logs; the coordinator uses the block)."""
        return () if self.block is None else tuple(self.block.to_points())


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """How an attempt ended, with whatever it logged since its last call."""

    number: int
    attempt: int
    state: OutcomeState
    values: tuple[float, ...] | None = None
    error: str | None = None
    outbox: Outbox = field(default_factory=Outbox)
    output: bytes = b""  # what the objective printed, warned and logged (the last MiB), for `output.log`
