"""Frozen records of the tracking store: what readers get back and what crosses processes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    PRUNED = "PRUNED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: int
    name: str
    artifact_location: str
    created_at: int  # epoch milliseconds
    deleted_at: int | None = None  # epoch milliseconds of `delete_experiment`; None: active

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class MetricPoint(NamedTuple):
    """One step of one metric series of one run; the unit the batching sink moves.

    A named tuple rather than a dataclass: millions are made on the hot path, and the
    field order matches the metrics table so a batch binds without conversion.
    """

    run_id: str
    key: str
    step: int
    value: float
    timestamp: int  # epoch milliseconds


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """Per-(run, key) summary kept in the same transaction as the points it summarises."""

    key: str
    last: float
    last_step: int
    last_timestamp: int
    min: float
    min_step: int
    max: float
    max_step: int

    def best(self, goal: str) -> float:
        return self.max if goal == "maximize" else self.min

    def best_step(self, goal: str) -> int:
        return self.max_step if goal == "maximize" else self.min_step


def _frozen(mapping: Mapping[str, object] | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment_id: int
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    artifact_uri: str
    error: str | None = None
    user: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricSummary] = field(default_factory=dict)
    # When `delete_run` (or its parent's or experiment's deletion) hid the run; None: active.
    deleted_at: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "tags", _frozen(self.tags))
        object.__setattr__(self, "metrics", _frozen(self.metrics))

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from plain dicts
        return (
            _rebuild_run,
            (
                self.run_id,
                self.experiment_id,
                self.name,
                str(self.status),
                self.start_time,
                self.end_time,
                self.parent_run_id,
                self.artifact_uri,
                self.error,
                self.user,
                dict(self.params),
                dict(self.tags),
                dict(self.metrics),
                self.deleted_at,
            ),
        )

    @property
    def deleted(self) -> bool:
        """Hidden from searches, listings and reports until restored (`TrackingClient.restore_run`) or purged."""
        return self.deleted_at is not None

    @property
    def duration_s(self) -> float | None:
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000.0

    def metric(self, key: str, default: float = math.nan) -> float:
        """Latest value of ``key``; ``default`` when the run never logged it."""
        summary = self.metrics.get(key)
        return summary.last if summary is not None else default


def _rebuild_run(*args: object) -> Run:
    values = list(args)
    values[3] = RunStatus(values[3])
    return Run(*values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Lease:
    """Which driver owns a sweep (its parent run), read at one moment.

    Times are epoch milliseconds of the clock of the process that holds the database connection
    (the driver's on a SQL store, the server's behind HTTP); ``expires_in_s`` was computed by
    that same clock when the lease was read, so it is right even where the reader's clock is not.
    """

    sweep_run_id: str
    owner: str  # a random id per driver: pids repeat across hosts and restarts
    host: str
    pid: int
    acquired_at: int
    heartbeat_at: int
    expires_at: int
    expires_in_s: float  # 0.0 once it has lapsed

    @property
    def live(self) -> bool:
        """Held and not lapsed when it was read."""
        return self.expires_in_s > 0
