"""Repeated seeds: group trials that differ only in their seed, and tell a real gap from noise."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from reports.sweep import Goal

SEED_PARAM = "seed"
# Follows "cannot tell: " wherever a verdict is shown, so it says why and never repeats the verdict.
SINGLE_SEED = "telling a gap from noise needs at least two seeds of each configuration"

Verdict = Literal["larger than noise", "within noise", "cannot tell"]


@dataclass(frozen=True, slots=True)
class SeedGroup:
    """Finished trials sharing every param but the seed, with the spread of their values."""

    key: tuple[tuple[str, str], ...]  # the shared params, sorted
    run_ids: tuple[str, ...]
    seeds: tuple[str, ...]
    values: tuple[float, ...]
    mean: float
    std: float  # sample standard deviation; NaN for one seed
    ci_low: float  # 95% t-interval of the mean; NaN for one seed
    ci_high: float

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.key)


@dataclass(frozen=True, slots=True)
class NoiseVerdict:
    """Whether the best's lead over the runner-up is larger than the seed-to-seed noise."""

    verdict: Verdict
    gap: float  # best mean minus runner-up mean, in the metric's units
    p_value: float | None
    method: str
    message: str

    @property
    def significant(self) -> bool:
        return self.verdict == "larger than noise"


def summarize(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, sample std and the ``confidence`` t-interval of the mean of ``values``."""
    n = len(values)
    if n == 0:
        return (math.nan,) * 4  # type: ignore[return-value]
    if n == 1:
        return float(values[0]), math.nan, math.nan, math.nan
    mean = statistics.fmean(values)
    std = statistics.stdev(values)
    from scipy import stats  # here: scipy.stats takes a second to import, and most callers never get here

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def group_by_seed(
    trials: Sequence[tuple[str, Mapping[str, str], float]], seed_param: str = SEED_PARAM
) -> list[SeedGroup]:
    """Groups of ``(run_id, params, value)`` rows that share all params but ``seed_param``.

    Rows with a NaN value are left out; a row without the seed param forms its own group.
    Groups come back in order of their first row.
    """
    buckets: dict[tuple[tuple[str, str], ...], list[tuple[str, str, float]]] = {}
    for run_id, params, value in trials:
        if math.isnan(value):
            continue
        key = tuple(sorted((k, v) for k, v in params.items() if k != seed_param))
        if seed_param not in params:
            key = (*key, ("__run__", run_id))  # no seed: never pooled with another trial
        buckets.setdefault(key, []).append((run_id, params.get(seed_param, ""), value))
    groups = []
    for key, rows in buckets.items():
        values = [v for _, _, v in rows]
        mean, std, low, high = summarize(values)
        groups.append(
            SeedGroup(
                key=tuple(kv for kv in key if kv[0] != "__run__"),
                run_ids=tuple(r for r, _, _ in rows),
                seeds=tuple(s for _, s, _ in rows),
                values=tuple(values),
                mean=mean,
                std=std,
                ci_low=low,
                ci_high=high,
            )
        )
    return groups


def has_repeats(groups: Sequence[SeedGroup]) -> bool:
    return any(g.n > 1 for g in groups)


def rank_groups(groups: Sequence[SeedGroup], goal: Goal) -> list[SeedGroup]:
    """Groups best first by mean value (ties: more seeds first, then first seen)."""
    sign = -1.0 if goal == "maximize" else 1.0
    return sorted(groups, key=lambda g: (sign * g.mean, -g.n))


def noise_verdict(
    best: SeedGroup | Sequence[float],
    runner_up: SeedGroup | Sequence[float],
    goal: Goal = "maximize",
    alpha: float = 0.05,
) -> NoiseVerdict:
    """Welch's t-test of best against runner-up; "cannot tell" below two seeds each."""
    a = list(best.values if isinstance(best, SeedGroup) else best)
    b = list(runner_up.values if isinstance(runner_up, SeedGroup) else runner_up)
    gap = (statistics.fmean(a) - statistics.fmean(b)) if a and b else math.nan
    if len(a) < 2 or len(b) < 2:
        counts = f" ({len(a)} vs {len(b)} seeds)" if len(a) + len(b) > 2 else ""
        return NoiseVerdict("cannot tell", gap, None, "none", SINGLE_SEED + counts)
    sign = 1.0 if goal == "maximize" else -1.0
    spread = statistics.pstdev(a) + statistics.pstdev(b)
    if spread == 0.0:
        # Welch's statistic is undefined without variance; identical reruns mean any gap is real.
        verdict: Verdict = "larger than noise" if sign * gap > 0 else "within noise"
        message = f"gap {_fmt(gap)}: every seed gave the same value, so the gap is {_plain(verdict)}"
        return NoiseVerdict(verdict, gap, None, "exact (no spread)", message)
    from scipy import stats

    result = stats.ttest_ind(a, b, equal_var=False)
    p_value = float(result.pvalue)
    better = sign * gap > 0
    verdict = "larger than noise" if better and p_value < alpha else "within noise"
    message = (
        f"gap {_fmt(gap)} is {_plain(verdict)} (Welch's t-test, p = {p_value:.3g}, "
        f"{len(a)} vs {len(b)} seeds, alpha = {alpha:g})"
    )
    return NoiseVerdict(verdict, gap, p_value, "Welch's t-test", message)


def _plain(verdict: Verdict) -> str:
    return "larger than the noise" if verdict == "larger than noise" else "within the noise"


def _fmt(value: float) -> str:
    return f"{value:+.4g}"
