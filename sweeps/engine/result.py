"""What a sweep reports: live `SweepProgress` snapshots and the final `SweepResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracking.entities import Run, RunStatus
from tracking.sweep_layout import objective_key
from tracking.uri import mask_password

if TYPE_CHECKING:
    import polars as pl

    from tracking.client import TrackingClient

__all__ = ["ProgressCallback", "RunningTrial", "SweepProgress", "SweepResult"]


@dataclass(frozen=True, slots=True)
class RunningTrial:
    """A trial in flight: which worker runs it, which attempt, for how long."""

    number: int
    worker_id: str
    attempt: int
    elapsed_s: float


@dataclass(frozen=True)
class SweepProgress:
    """A snapshot of a sweep, for progress displays; the last one has the final status."""

    sweep_id: str
    parent_run_id: str
    status: str  # RUNNING while trials run, then FINISHED / FAILED / KILLED
    budget: int
    started: int
    finished: int
    pruned: int
    failed: int
    killed: int
    running: tuple[RunningTrial, ...]
    elapsed_s: float
    completed_this_session: int = 0
    timeout_s: float | None = None
    best_value: float | None = None
    best_trial: int | None = None
    best_run_id: str | None = None
    goal: str = "maximize"
    errors: tuple[str, ...] = ()  # one line per failed trial: "trial 3: ValueError: ..."
    first_error: str | None = None  # the first failure's full traceback
    done: bool = False  # nothing running and nothing left to launch

    @property
    def completed(self) -> int:
        return self.finished + self.pruned + self.failed + self.killed

    @property
    def n_running(self) -> int:
        return len(self.running)

    @property
    def eta_s(self) -> float | None:
        """Seconds until the budget is used up at the pace of this session (capped by timeout_s)."""
        if self.status != RunStatus.RUNNING.value:
            return 0.0
        remaining = max(0, self.budget - self.completed)
        eta = None
        if self.completed_this_session and self.elapsed_s > 0:
            eta = self.elapsed_s / self.completed_this_session * remaining
        if self.timeout_s is not None:
            left = max(0.0, self.timeout_s - self.elapsed_s)
            eta = left if eta is None else min(eta, left)
        return eta


ProgressCallback = Callable[[SweepProgress], None]


@dataclass(frozen=True)
class SweepResult:
    """The outcome of `sweeps.run` / `sweeps.resume`: ids, counts, the best run, hooks' output."""

    sweep_id: str
    parent_run_id: str
    status: str  # FINISHED / FAILED / KILLED
    best: Run | None
    n_trials: int
    n_finished: int
    n_pruned: int
    n_failed: int
    n_killed: int = 0
    errors: tuple[str, ...] = ()
    first_error: str | None = None
    registered: object | None = None  # tracking.registry ModelVersion when a model was registered
    report_path: str | None = None
    pareto: tuple[Run, ...] = ()  # multi-objective: the non-dominated trials
    notes: tuple[str, ...] = ()  # things worth telling the user (e.g. nothing to register)
    metric_names: tuple[str, ...] = ()  # the optimized metrics, in config order
    store_uri: str = field(default="", repr=False)
    artifact_root: str = field(default="", repr=False)

    @property
    def store(self) -> str:
        """The store URI with any password masked (safe to print)."""
        return mask_password(self.store_uri)

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.FINISHED.value

    @property
    def all_failed(self) -> bool:
        """Every trial failed (the CLI exits 1 showing `first_error`)."""
        return self.n_trials > 0 and self.n_failed + self.n_killed == self.n_trials

    def __repr__(self) -> str:
        value = self.best_value
        best = f"{self.best.name} ({value:g})" if self.best is not None and value is not None else None
        return (
            f"SweepResult(sweep_id={self.sweep_id!r}, status={self.status!r}, trials={self.n_trials}, "
            f"finished={self.n_finished}, pruned={self.n_pruned}, failed={self.n_failed}, killed={self.n_killed}, "
            f"best={best!r}, registered={self.registered!r}, report_path={self.report_path!r})"
        )

    @property
    def best_value(self) -> float | None:
        """The best trial's value of the first metric."""
        if self.best is None or not self.metric_names:
            return None
        summary = self.best.metrics.get(objective_key(self.metric_names[0]))
        return summary.last if summary is not None else None

    def client(self) -> TrackingClient:
        """A new tracking client on the sweep's store (close it when done)."""
        import tracking

        return tracking.connect(self.store_uri, self.artifact_root)

    def leaderboard(self, top_k: int | None = None) -> pl.DataFrame:
        """Trials ranked best first, one row each (a polars DataFrame)."""
        from sweeps.engine.ranking import leaderboard

        with self.client() as client:
            return leaderboard(client, self.sweep_id, top_k=top_k)

    def report(self, path: str | Path | None = None) -> Path:
        """Write the HTML comparison report (default: ``sweep-reports/<sweep_id>.html``)."""
        from sweeps.engine.hooks import build_report

        with self.client() as client:
            return build_report(client, self.sweep_id, path)
