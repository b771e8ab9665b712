"""Finding a sweep in the store and ranking its trials, through the `reports` package.

The best-trial rule is `tracking.sweep_layout.best_key` (the reports rank by it; Pareto fronts
for several metrics), so `SweepResult.best`, the leaderboard and the HTML report always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sweeps.errors import SweepsError
from tracking.client import TrackingClient
from tracking.entities import Run, RunStatus

if TYPE_CHECKING:
    import polars as pl

    import reports

__all__ = [
    "Ranking",
    "find_sweep",
    "leaderboard",
    "leaderboard_of",
    "load",
    "noise_text",
    "noise_text_of",
    "ranking",
    "tallied_ranking",
]


@dataclass(frozen=True)
class Ranking:
    """The best trial's run and, for several metrics, the first Pareto front (best first).

    With `repeats:`, `best` is the repeat closest to the mean of the best configuration by mean,
    and `reason` says so (for the registry).
    """

    best: Run | None
    pareto: tuple[Run, ...]
    reason: str | None = None


def find_sweep(client: TrackingClient, sweep_id: str) -> Run:
    """The parent run of `sweep_id`; SweepsError (with close matches) when there is none."""
    from reports.errors import SweepNotFound
    from reports.sweep import find_sweep as find

    try:
        return find(client, sweep_id)
    except SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc


def load(client: TrackingClient, sweep_id: str) -> reports.Sweep:
    """The sweep's parent and trials, read once (SweepsError when there is no such sweep)."""
    from reports.sweep import sweep_of

    return sweep_of(client, find_sweep(client, sweep_id))


def ranking(client: TrackingClient, sweep_id: str) -> Ranking:
    """Rank the stored trials of `sweep_id` as the leaderboard does."""
    import reports
    from reports import config_ranking

    sweep = load(client, sweep_id)
    runs = {r.run_id: r for r in sweep.trials}
    param = config_ranking.repeats_param(sweep)
    if param is not None and not sweep.multi_objective:
        ranks = config_ranking.rank_configurations(sweep, param)
        if not ranks:
            return Ranking(best=None, pareto=())
        top, best = ranks[0].group, runs[ranks[0].representative]
        reason = (
            f"best configuration by mean of sweep {sweep_id}: {sweep.primary.name} {top.mean:.6g} over {top.n} "
            f"repeats of {param}; the model of {best.name}, the repeat closest to the mean"
        )
        return Ranking(best=best, pareto=(), reason=reason)
    order = reports.rank_trials(reports.trial_records(sweep), [o.goal for o in sweep.objectives])
    ranked = [runs[r.trial.run_id] for r in order if r.rank is not None]
    pareto = tuple(runs[r.trial.run_id] for r in order if r.front == 1) if sweep.multi_objective else ()
    return Ranking(best=ranked[0] if ranked else None, pareto=pareto)


def tallied_ranking(client: TrackingClient, sweep_id: str, best_run_id: str | None, simple: bool) -> Ranking:
    """`ranking`, from the driver's own best when the sweep is `simple` (one metric, no repeats).

    The driver picks its best by the leaderboard's rule (`best_key`) over every stored trial
    (restored ones included), so reading 20,000 trials back to rank them again would only agree.
    A best run that is gone or no longer FINISHED (deleted, edited meanwhile) ranks them all.
    """
    if simple and best_run_id is not None:
        found = client.get_runs([best_run_id])
        if found and found[0].status is RunStatus.FINISHED and found[0].deleted_at is None:
            return Ranking(best=found[0], pareto=())
    return ranking(client, sweep_id)


def leaderboard(client: TrackingClient, sweep_id: str, top_k: int | None = None) -> pl.DataFrame:
    """Trials best first, one row each (see `reports.leaderboard_frame` for the columns).

    A sweep with `repeats:` ranks configurations instead: one row each, by mean, with its 95 %
    interval (`reports.config_ranking.configuration_board`).
    """
    return leaderboard_of(load(client, sweep_id), top_k)


def leaderboard_of(sweep: reports.Sweep, top_k: int | None = None) -> pl.DataFrame:
    """`leaderboard` of an already-loaded sweep."""
    from reports import config_ranking
    from reports.ranking import leaderboard_frame

    param = config_ranking.repeats_param(sweep)
    if param is not None and not sweep.multi_objective:
        return config_ranking.configuration_board(sweep, param, top_k)
    return leaderboard_frame(sweep, top_k=top_k)


def noise_text(client: TrackingClient, sweep_id: str) -> str | None:
    """With `repeats:`: whether the best configuration beats the runner-up by more than the noise."""
    from reports import config_ranking

    if not find_sweep(client, sweep_id).tags.get(config_ranking.REPEATS_PARAM):
        return None  # no repeats: nothing to load
    return noise_text_of(load(client, sweep_id))


def noise_text_of(sweep: reports.Sweep) -> str | None:
    """`noise_text` of an already-loaded sweep."""
    from reports import config_ranking

    param = config_ranking.repeats_param(sweep)
    if param is None or sweep.multi_objective:
        return None
    found = config_ranking.verdict(config_ranking.rank_configurations(sweep, param), sweep.primary.goal)
    if found is None:
        return "best vs runner-up: needs two configurations"
    return f"best vs runner-up: {found.verdict}: {found.message}"
