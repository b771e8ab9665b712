"""Rank configurations, not trials, of a sweep with repeated seeds: mean, 95 % interval, noise verdict.

A sweep run with `repeats:` tags its parent with the repeated param (`sweeps.repeats.param`);
its trials that share every other param form one configuration (`reports.seeds.group_by_seed`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from reports.seeds import NoiseVerdict, SeedGroup, group_by_seed, noise_verdict, rank_groups
from reports.sweep import Goal, Sweep
from tracking import RunStatus
from tracking.sweep_layout import trial_number

__all__ = ["OUTPUT_TAIL", "REPEATS_PARAM", "ConfigRank", "configuration_board", "rank_configurations", "repeats_param"]

REPEATS_PARAM = "sweeps.repeats.param"  # parent tag: the param a sweep's `repeats:` sets per run
OUTPUT_TAIL = "sweeps.output_tail"  # failed trial tag: the last lines of its output (sweeps.engine.queue_tags)


@dataclass(frozen=True, slots=True)
class ConfigRank:
    """One configuration: its seed group, and the repeat closest to the mean (its model)."""

    rank: int
    group: SeedGroup
    representative: str  # run id


def repeats_param(sweep: Sweep) -> str | None:
    """The param the sweep repeated its configurations over, or None (no `repeats:`)."""
    return sweep.parent.tags.get(REPEATS_PARAM) or None


def rank_configurations(sweep: Sweep, seed_param: str) -> list[ConfigRank]:
    """The sweep's configurations, best mean first (ties: more repeats first)."""
    key = sweep.primary.key
    rows = [
        (run.run_id, run.params, run.metrics[key].last)
        for run in sweep.trials
        if run.status is RunStatus.FINISHED and key in run.metrics
    ]
    groups = rank_groups(group_by_seed(rows, seed_param), sweep.primary.goal)
    out = []
    for rank, group in enumerate(groups, start=1):
        closest = min(zip(group.values, group.run_ids, strict=True), key=lambda vr: (abs(vr[0] - group.mean), vr[1]))
        out.append(ConfigRank(rank, group, closest[1]))
    return out


def verdict(ranks: Sequence[ConfigRank], goal: Goal) -> NoiseVerdict | None:
    """Best configuration against the runner-up; None with fewer than two configurations."""
    if len(ranks) < 2:
        return None
    return noise_verdict(ranks[0].group, ranks[1].group, goal)


def configuration_board(sweep: Sweep, seed_param: str, top_k: int | None = None) -> pl.DataFrame:
    """One row per configuration: rank, params, repeats, mean, 95 % interval, std, the model's run and trial."""
    ranks = rank_configurations(sweep, seed_param)[:top_k]
    numbers = {run.run_id: trial_number(run) for run in sweep.trials}
    names = sorted({k for r in ranks for k in r.group.params})
    data: dict[str, list[object]] = {
        "rank": [r.rank for r in ranks],
        "n": [r.group.n for r in ranks],
        "mean": [r.group.mean for r in ranks],
        "ci_low": [_none_if_nan(r.group.ci_low) for r in ranks],
        "ci_high": [_none_if_nan(r.group.ci_high) for r in ranks],
        "std": [_none_if_nan(r.group.std) for r in ranks],
        "trial": [numbers.get(r.representative) for r in ranks],
        "run_id": [r.representative for r in ranks],
    }
    for name in names:
        data[f"params.{name}"] = [r.group.params.get(name) for r in ranks]
    schema = {
        "rank": pl.Int64(),
        "n": pl.Int64(),
        "mean": pl.Float64(),
        "ci_low": pl.Float64(),
        "ci_high": pl.Float64(),
        "std": pl.Float64(),
        "trial": pl.Int64(),
        "run_id": pl.String(),
        **{f"params.{n}": pl.String() for n in names},
    }
    return pl.DataFrame(data, schema=schema)


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value
