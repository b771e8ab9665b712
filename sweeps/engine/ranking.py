"""Finding a sweep in the store and ranking its trials, through the `reports` package.

The best-trial rule is `tracking.sweep_layout.best_key` (the reports rank by it; Pareto fronts
for several metrics), so `SweepResult.best`, the leaderboard and the HTML report always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sweeps.errors import SweepsError
from tracking.client import TrackingClient
from tracking.entities import Run

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Ranking", "find_sweep", "leaderboard", "ranking"]


@dataclass(frozen=True)
class Ranking:
    """The best trial's run and, for several metrics, the first Pareto front (best first)."""

    best: Run | None
    pareto: tuple[Run, ...]


def find_sweep(client: TrackingClient, sweep_id: str) -> Run:
    """The parent run of `sweep_id`; SweepsError (with close matches) when there is none."""
    import reports  # here, not at the top: it pulls in plotting, and Ray workers import this package

    try:
        return reports.find_sweep(client, sweep_id)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc


def ranking(client: TrackingClient, sweep_id: str) -> Ranking:
    """Rank the stored trials of `sweep_id` as the leaderboard does."""
    import reports

    try:
        sweep = reports.load_sweep(client, sweep_id)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc
    order = reports.rank_trials(reports.trial_records(sweep), [o.goal for o in sweep.objectives])
    runs = {r.run_id: r for r in sweep.trials}
    ranked = [runs[r.trial.run_id] for r in order if r.rank is not None]
    pareto = tuple(runs[r.trial.run_id] for r in order if r.front == 1) if sweep.multi_objective else ()
    return Ranking(best=ranked[0] if ranked else None, pareto=pareto)


def leaderboard(client: TrackingClient, sweep_id: str, top_k: int | None = None) -> pl.DataFrame:
    """Trials best first, one row each (see `reports.leaderboard_frame` for the columns)."""
    import reports

    try:
        return reports.leaderboard(client, sweep_id, top_k=top_k)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc
