"""Finding a sweep in the store and ranking its trials, through the `reports` package.

The best-trial rule is `tracking.sweep_layout.best_key` (the reports rank by it; Pareto fronts
for several metrics), so `SweepResult.best`, the leaderboard and the HTML report always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sweeps.errors import SweepsError
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Ranking", "find_sweep", "leaderboard", "noise_text", "ranking"]

_PLAIN_ID = re.compile(r"[\w.-]+")  # safe inside a quoted filter value


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
    if _PLAIN_ID.fullmatch(sweep_id):
        # The parent alone, by both its tags in SQL: the store need not load every trial of a
        # large sweep (they carry the sweep id too) to find it.
        kind = f"tags.`{layout.KIND}` = '{layout.KIND_SWEEP}'"
        frame = client.search_runs(
            filter=f"tags.`{layout.SWEEP_ID}` = '{sweep_id}' and {kind}",
            order_by=["attributes.start_time desc"],
            max_results=1,
        )
        if frame.height:
            return client.get_run(frame["run_id"][0])
    import reports  # here, not at the top: it pulls in plotting, and Ray workers import this package

    try:
        return reports.find_sweep(client, sweep_id)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc


def ranking(client: TrackingClient, sweep_id: str) -> Ranking:
    """Rank the stored trials of `sweep_id` as the leaderboard does."""
    import reports
    from reports import config_ranking

    try:
        sweep = reports.load_sweep(client, sweep_id)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc
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


def leaderboard(client: TrackingClient, sweep_id: str, top_k: int | None = None) -> pl.DataFrame:
    """Trials best first, one row each (see `reports.leaderboard_frame` for the columns).

    A sweep with `repeats:` ranks configurations instead: one row each, by mean, with its 95 %
    interval (`reports.config_ranking.configuration_board`).
    """
    import reports
    from reports import config_ranking

    try:
        sweep = reports.load_sweep(client, sweep_id)
        param = config_ranking.repeats_param(sweep)
        if param is not None and not sweep.multi_objective:
            return config_ranking.configuration_board(sweep, param, top_k)
        return reports.leaderboard(client, sweep_id, top_k=top_k)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc


def noise_text(client: TrackingClient, sweep_id: str) -> str | None:
    """With `repeats:`: whether the best configuration beats the runner-up by more than the noise."""
    import reports
    from reports import config_ranking

    if not find_sweep(client, sweep_id).tags.get(config_ranking.REPEATS_PARAM):
        return None  # no repeats: nothing to load
    try:
        sweep = reports.load_sweep(client, sweep_id)
    except reports.SweepNotFound as exc:
        raise SweepsError(str(exc)) from exc
    param = config_ranking.repeats_param(sweep)
    if param is None or sweep.multi_objective:
        return None
    found = config_ranking.verdict(config_ranking.rank_configurations(sweep, param), sweep.primary.goal)
    if found is None:
        return "best vs runner-up: needs two configurations"
    return f"best vs runner-up: {found.verdict}: {found.message}"
