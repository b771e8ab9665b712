"""The leaderboard of a sweep: pure ranking over trial records, and the store-facing wrapper."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from reports.pareto import crowding_distance, non_dominated_sort, to_minimization
from reports.seeds import SEED_PARAM, group_by_seed
from reports.sweep import Goal, Objective, Sweep, load_sweep, objective_values
from tracking import Run, RunStatus, TrackingClient
from tracking.error_text import error_summary
from tracking.sweep_layout import best_key, trial_number

# Unranked trials come after every ranked one, in this order.
_APART_ORDER = {"FINISHED": 0, "RUNNING": 1, "PRUNED": 2, "KILLED": 3, "FAILED": 4}


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """What ranking needs to know about one trial; plain data, no store."""

    run_id: str
    status: str
    values: tuple[float, ...]
    number: int | None = None
    end_time: int | None = None
    secondary: float = math.nan
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def rankable(self) -> bool:
        return self.status == RunStatus.FINISHED and bool(self.values) and not any(map(math.isnan, self.values))


@dataclass(frozen=True, slots=True)
class RankedTrial:
    trial: TrialRecord
    rank: int | None  # 1-based; None for trials listed apart
    front: int | None = None  # 1-based Pareto front (multi-objective only)
    crowding: float | None = None


def rank_trials(
    trials: Sequence[TrialRecord], goals: Sequence[Goal], secondary_goal: Goal | None = None
) -> list[RankedTrial]:
    """Leaderboard order: ranked finished trials first, then the rest (rank None).

    One goal: by value, then the secondary metric (if ``secondary_goal``), then trial number and
    run id (the rule of `tracking.sweep_layout.best_key`).
    Several goals: by Pareto front, then larger crowding distance.
    """
    ranked = [t for t in trials if t.rankable]
    apart = [t for t in trials if not t.rankable]
    out = _rank_pareto(ranked, goals) if len(goals) > 1 else _rank_single(ranked, goals[0], secondary_goal)
    first_sign = -1.0 if goals[0] == "maximize" else 1.0
    apart.sort(key=lambda t: (_APART_ORDER.get(str(t.status), 5), *_nan_last(first_sign, _first(t)), *_tail(t)))
    return out + [RankedTrial(t, None) for t in apart]


def _rank_single(trials: list[TrialRecord], goal: Goal, secondary_goal: Goal | None) -> list[RankedTrial]:
    sign = -1.0 if goal == "maximize" else 1.0
    second_sign = -1.0 if secondary_goal == "maximize" else 1.0

    def key(t: TrialRecord) -> tuple[float, ...]:
        second = _nan_last(second_sign, t.secondary) if secondary_goal else (0, 0.0)
        return (sign * t.values[0], *second, *_tail(t))

    return [RankedTrial(t, i + 1) for i, t in enumerate(sorted(trials, key=key))]


def _rank_pareto(trials: list[TrialRecord], goals: Sequence[Goal]) -> list[RankedTrial]:
    if not trials:
        return []
    points = to_minimization([t.values for t in trials], goals)
    fronts = non_dominated_sort(points)
    crowding = np.zeros(len(trials))
    for front in np.unique(fronts):
        members = np.flatnonzero(fronts == front)
        crowding[members] = crowding_distance(points[members])
    order = sorted(range(len(trials)), key=lambda i: (fronts[i], -crowding[i], *_tail(trials[i])))
    return [RankedTrial(trials[i], pos + 1, int(fronts[i]) + 1, float(crowding[i])) for pos, i in enumerate(order)]


def _tail(t: TrialRecord) -> tuple[float, str]:
    """Ties go to the lower trial number, then the run id: `tracking.sweep_layout.best_key`'s rule."""
    key = best_key(math.nan, "minimize", t.number, t.run_id)
    return (key.number, key.run_id)


def _first(t: TrialRecord) -> float:
    return t.values[0] if t.values else math.nan


def _nan_last(sign: float, value: float) -> tuple[int, float]:
    return (1, 0.0) if math.isnan(value) else (0, sign * value)


# -- from the store ----------------------------------------------------------------------


def trial_records(sweep: Sweep, secondary: Objective | None = None) -> list[TrialRecord]:
    """One record per trial run, from the runs' metric summaries (no history scans)."""
    records = []
    for run in sweep.trials:
        second = math.nan
        if secondary is not None:
            summary = run.metrics.get(secondary.key) or run.metrics.get(secondary.name)
            second = summary.last if summary is not None else math.nan
        records.append(
            TrialRecord(
                run_id=run.run_id,
                status=str(run.status),
                values=objective_values(run, sweep.objectives),
                number=trial_number(run),
                end_time=run.end_time,
                secondary=second,
                params=dict(run.params),
            )
        )
    return records


def leaderboard(
    client: TrackingClient,
    sweep_id: str,
    *,
    top_k: int | None = None,
    secondary: str | Objective | tuple[str, str] | None = None,
) -> pl.DataFrame:
    """The sweep's trials, best first, as a polars DataFrame (see :func:`leaderboard_frame`)."""
    return leaderboard_frame(load_sweep(client, sweep_id), top_k=top_k, secondary=secondary)


def leaderboard_frame(
    sweep: Sweep,
    *,
    top_k: int | None = None,
    secondary: str | Objective | tuple[str, str] | None = None,
) -> pl.DataFrame:
    """Columns: rank, trial, run_id, name, status, value, objective.*, [front, crowding], [secondary.*],
    best_step, duration_s, start_time, end_time, attempt, seed_group, error, params.*."""
    second = Objective.parse(secondary) if secondary is not None else None
    records = trial_records(sweep, second)
    goals = [o.goal for o in sweep.objectives]
    order = rank_trials(records, goals, second.goal if second else None)
    if top_k is not None:
        order = order[: max(top_k, 0)]
    runs = {r.run_id: r for r in sweep.trials}
    groups = _seed_group_ids(sweep, records)
    columns: dict[str, list[object]] = {
        "rank": [r.rank for r in order],
        "trial": [r.trial.number for r in order],
        "run_id": [r.trial.run_id for r in order],
        "name": [runs[r.trial.run_id].name for r in order],
        "status": [r.trial.status for r in order],
        "value": [_none_if_nan(r.trial.values[0]) for r in order],
    }
    for i, objective in enumerate(sweep.objectives):
        columns[objective.key] = [_none_if_nan(r.trial.values[i]) for r in order]
    if sweep.multi_objective:
        columns["front"] = [r.front for r in order]
        columns["crowding"] = [r.crowding for r in order]
    if second is not None:
        columns[f"secondary.{second.name}"] = [_none_if_nan(r.trial.secondary) for r in order]
    ordered_runs = [runs[r.trial.run_id] for r in order]
    columns["best_step"] = [_best_step(run, sweep.primary) for run in ordered_runs]
    columns["duration_s"] = [run.duration_s for run in ordered_runs]
    columns["start_time"] = [run.start_time for run in ordered_runs]
    columns["end_time"] = [run.end_time for run in ordered_runs]
    columns["attempt"] = [_int_or_none(run.tags.get("sweeps.attempt")) for run in ordered_runs]
    columns["seed_group"] = [groups.get(run.run_id) for run in ordered_runs]
    columns["error"] = [error_summary(run.error) for run in ordered_runs]
    frame = pl.DataFrame(columns, schema=_schema(columns, sweep, second), strict=False)
    times = [pl.col(c).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC") for c in ("start_time", "end_time")]
    return frame.with_columns(*times, *_param_columns(ordered_runs))


def _schema(columns: Mapping[str, list[object]], sweep: Sweep, second: Objective | None) -> dict[str, pl.DataType]:
    types: dict[str, pl.DataType] = {
        "rank": pl.Int64(),
        "trial": pl.Int64(),
        "run_id": pl.String(),
        "name": pl.String(),
        "status": pl.String(),
        "value": pl.Float64(),
        "front": pl.Int64(),
        "crowding": pl.Float64(),
        "best_step": pl.Int64(),
        "duration_s": pl.Float64(),
        "start_time": pl.Int64(),
        "end_time": pl.Int64(),
        "attempt": pl.Int64(),
        "seed_group": pl.Int64(),
        "error": pl.String(),
    }
    for objective in sweep.objectives:
        types[objective.key] = pl.Float64()
    if second is not None:
        types[f"secondary.{second.name}"] = pl.Float64()
    return {name: types[name] for name in columns}


def _param_columns(runs: Sequence[Run]) -> list[pl.Series]:
    keys = sorted({k for run in runs for k in run.params})
    return [_typed(f"params.{k}", [run.params.get(k) for run in runs]) for k in keys]


def _typed(name: str, texts: list[str | None]) -> pl.Series:
    """Params are stored as text; give back numbers where every value is one."""
    present = [v for v in texts if v is not None]
    for dtype, parse in ((pl.Int64(), int), (pl.Float64(), float)):
        try:
            parsed = [parse(v) for v in present]
        except ValueError:
            continue
        if dtype == pl.Float64() or all(str(p) == v for p, v in zip(parsed, present, strict=True)):
            return pl.Series(name, [None if v is None else parse(v) for v in texts], dtype=dtype)
    return pl.Series(name, texts, dtype=pl.String())


def _seed_group_ids(sweep: Sweep, records: Sequence[TrialRecord]) -> dict[str, int]:
    """Run id -> group number, for trials whose params repeat with another seed."""
    rows = [(r.run_id, r.params, r.values[0]) for r in records if r.rankable and SEED_PARAM in r.params]
    out = {}
    for number, group in enumerate(g for g in group_by_seed(rows) if g.n > 1):
        for run_id in group.run_ids:
            out[run_id] = number
    return out


def _best_step(run: Run, objective: Objective) -> int | None:
    # The objective key holds one point at step 0; the step-wise series is the metric itself.
    summary = run.metrics.get(objective.name)
    return summary.best_step(objective.goal) if summary is not None else None


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
