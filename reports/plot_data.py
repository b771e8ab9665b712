"""What each report figure shows, extracted from trial rows into plain named tuples (no drawing here)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from reports.space import is_log, param_value
from reports.sweep import Objective, Sweep
from tracking import Metric
from tracking.ranks import average_ranks
from tracking.sweep_layout import OBJECTIVE_PREFIX

MAX_CURVE_POINTS = 200  # per series; enough for a smooth line at report width
MAX_PARALLEL_LINES = 1_000
MAX_PANELS = 12  # slice plots / parallel axes
# A value axis goes logarithmic when its positive data spans more than this many decades: a loss
# that falls from 10 to 0.01 is a flat line at the bottom of a linear axis.
LOG_ABOVE_DECADES = 2.0

Scale = Literal["linear", "log"]


def choose_scale(*values: np.ndarray | Sequence[float]) -> Scale:
    """``"log"`` when every finite value is positive and they span more than two decades, else ``"linear"``.

    The one rule for every value axis of the report and the live UI.
    """
    finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.zeros(0)
    finite = finite[np.isfinite(finite)]
    if len(finite) < 2 or finite.min() <= 0:
        return "linear"
    return "log" if math.log10(finite.max() / finite.min()) > LOG_ABOVE_DECADES else "linear"


@dataclass(frozen=True, slots=True)
class TrialRow:
    """One trial as the figures see it."""

    run_id: str
    number: int | None
    label: str
    status: str
    values: tuple[float, ...]
    rank: int | None = None
    front: int | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.rank is not None


class HistoryInfo(NamedTuple):
    objective: Objective
    numbers: np.ndarray  # finished trials, by number
    values: np.ndarray
    # The best-so-far step line (held until the next point) by the trials that changed it, and
    # the last: the same line as one point per trial, in a few dozen points.
    best_numbers: np.ndarray
    best_values: np.ndarray
    pruned_numbers: np.ndarray
    pruned_values: np.ndarray
    scale: Scale = "linear"  # of the value axis (choose_scale over finished and pruned values)


class CurveSeries(NamedTuple):
    label: str
    steps: np.ndarray
    values: np.ndarray
    pruned: bool


class CurvesInfo(NamedTuple):
    metric: str
    series: tuple[CurveSeries, ...]
    note: str | None
    scale: Scale = "linear"  # of the value axis, over every series drawn


class ParallelAxis(NamedTuple):
    name: str
    tick_positions: tuple[float, ...]
    tick_labels: tuple[str, ...]
    scale: Scale = "linear"  # how the axis maps values to [0, 1]: log10 for log params and spread-out objectives
    categorical: bool = False


class ParallelInfo(NamedTuple):
    axes: tuple[ParallelAxis, ...]  # the params, then the objective
    lines: np.ndarray  # rows x axes, each in [0, 1]; NaN where a param is absent
    # Per row, the objective's rank as a fraction: 1 = best, 0 = worst. By rank, not value, so that
    # one diverged trial cannot squeeze every other line into one colour.
    colour: np.ndarray
    note: str | None


class SlicePanel(NamedTuple):
    name: str
    x: np.ndarray
    y: np.ndarray
    numbers: np.ndarray
    categories: tuple[str, ...] | None  # x holds category indices (jittered) when set
    log: bool
    integer: bool = False


class SliceInfo(NamedTuple):
    objective: Objective
    panels: tuple[SlicePanel, ...]
    note: str | None
    scale: Scale = "linear"  # of the objective (y) axis, shared by every panel


class ParetoInfo(NamedTuple):
    objectives: tuple[Objective, Objective]
    points: np.ndarray  # finished trials, n x 2
    front: np.ndarray  # the Pareto front, sorted along the first objective
    note: str | None
    scales: tuple[Scale, Scale] = ("linear", "linear")


def _get_history_info(rows: Sequence[TrialRow], objective: Objective, index: int = 0) -> HistoryInfo:
    finished = sorted((r for r in rows if r.finished and r.number is not None), key=lambda r: r.number or 0)
    numbers = np.array([r.number for r in finished], dtype=float)
    values = np.array([r.values[index] for r in finished], dtype=float)
    best = np.minimum.accumulate(values * objective.sign) * objective.sign if len(values) else values
    changed = np.ones(len(best), dtype=bool)
    changed[1:-1] = best[1:-1] != best[:-2]  # NaN != NaN: kept, never lost
    pruned = [r for r in rows if r.status == "PRUNED" and r.number is not None and not math.isnan(r.values[index])]
    pruned_values = np.array([r.values[index] for r in pruned], dtype=float)
    return HistoryInfo(
        objective,
        numbers,
        values,
        numbers[changed],
        best[changed],
        np.array([r.number for r in pruned], dtype=float),
        pruned_values,
        choose_scale(values, pruned_values),
    )


def curve_metric(sweep: Sweep) -> str | None:
    """The step-wise metric to draw: the primary objective's series, else the most logged one."""
    stepped = Counter(
        key
        for run in sweep.trials
        for key, s in run.metrics.items()
        if s.last_step > 0 and not key.startswith(OBJECTIVE_PREFIX)
    )
    if sweep.primary.name in stepped:
        return sweep.primary.name
    return stepped.most_common(1)[0][0] if stepped else None


def curve_run_ids(rows: Sequence[TrialRow], top_k: int, max_pruned: int = 100) -> tuple[list[str], list[str]]:
    """Run ids whose histories the learning-curve figure needs: the top K, and pruned ones spread evenly."""
    top = [r.run_id for r in rows if r.finished][:top_k]
    pruned = [r.run_id for r in rows if r.status == "PRUNED"]
    if len(pruned) > max_pruned:
        pruned = [pruned[i] for i in np.linspace(0, len(pruned) - 1, max_pruned).astype(int)]
    return top, pruned


def _get_curves_info(
    rows: Sequence[TrialRow],
    histories: Mapping[str, Mapping[str, Sequence[Metric]]],
    metric: str,
    top: Sequence[str],
    pruned: Sequence[str],
) -> CurvesInfo:
    by_id = {r.run_id: r for r in rows}
    series = []
    for run_id, is_pruned in [*((i, False) for i in top), *((i, True) for i in pruned)]:
        points = histories.get(run_id, {}).get(metric, [])
        if not points:
            continue
        steps, values = _downsample(
            np.array([p.step for p in points], dtype=float), np.array([p.value for p in points], dtype=float)
        )
        row = by_id[run_id]
        label = f"#{row.rank} {row.label}" if row.rank is not None else row.label
        series.append(CurveSeries(label, steps, values, is_pruned))
    total_pruned = sum(r.status == "PRUNED" for r in rows)
    note = f"showing {len(pruned)} of {total_pruned} pruned trials" if total_pruned > len(pruned) else None
    return CurvesInfo(metric, tuple(series), note, choose_scale(*(s.values for s in series)))


def _downsample(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(steps) <= MAX_CURVE_POINTS:
        return steps, values
    keep = np.unique(np.linspace(0, len(steps) - 1, MAX_CURVE_POINTS).astype(int))
    return steps[keep], values[keep]


def _get_parallel_info(
    rows: Sequence[TrialRow], space: Mapping[str, BaseDistribution], objective: Objective
) -> ParallelInfo:
    finished = [r for r in rows if r.finished]
    shown = _spread(finished, MAX_PARALLEL_LINES)
    names = list(space)[:MAX_PANELS]
    columns, axes = [], []
    for name in names:
        column, axis = _axis(name, space[name], [r.params.get(name) for r in shown])
        columns.append(column)
        axes.append(axis)
    values = np.array([r.values[0] for r in shown], dtype=float)
    column, axis = _objective_axis(objective.name, values)
    columns.append(column)
    axes.append(axis)
    colour = _rank_colour(values * -objective.sign)
    notes = []
    if len(shown) < len(finished):
        notes.append(f"showing {len(shown)} of {len(finished)} finished trials (the best 200 and an even spread)")
    if len(space) > len(names):
        notes.append(f"showing {len(names)} of {len(space)} parameters")
    lines = np.column_stack(columns) if shown else np.zeros((0, len(axes)))
    return ParallelInfo(tuple(axes), lines, colour, "; ".join(notes) or None)


def _axis(name: str, dist: BaseDistribution, texts: Sequence[str | None]) -> tuple[np.ndarray, ParallelAxis]:
    if isinstance(dist, CategoricalDistribution):
        labels = [str(c) for c in dist.choices]
        span = max(len(labels) - 1, 1)
        column = np.array([labels.index(t) / span if t in labels else np.nan for t in texts], dtype=float)
        positions = tuple(i / span for i in range(len(labels)))
        return column, ParallelAxis(name, positions, tuple(_short(x) for x in labels), categorical=True)
    low, high = float(dist.low), float(dist.high)  # type: ignore[attr-defined]
    raw = np.array([_number(t, dist) for t in texts], dtype=float)
    scale: Scale = "log" if is_log(dist) else "linear"
    if scale == "log":
        raw, low, high = np.log10(raw), math.log10(low), math.log10(high)
    column = (raw - low) / (high - low) if high > low else np.full(len(raw), 0.5)
    labels = (dist.low, dist.high) if scale == "linear" else (10**low, 10**high)  # type: ignore[attr-defined]
    return column, ParallelAxis(name, (0.0, 1.0), tuple(_short(x) for x in labels), scale)


def _objective_axis(name: str, values: np.ndarray) -> tuple[np.ndarray, ParallelAxis]:
    scale = choose_scale(values)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw, lo, hi = (np.log10(values), math.log10(low), math.log10(high)) if scale == "log" else (values, low, high)
        column = np.clip((raw - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.full(len(values), 0.5)
    # A diverged trial (+-inf) sits at the end of the axis instead of squashing every other line.
    column = np.where(np.isposinf(values), 1.0, np.where(np.isneginf(values), 0.0, column))
    return column, ParallelAxis(name, (0.0, 1.0), (_short(low), _short(high)), scale)


def _rank_colour(goodness: np.ndarray) -> np.ndarray:
    """Each value's rank among ``goodness`` (bigger = better) as a fraction in [0, 1]; NaN ranks worst."""
    if len(goodness) < 2:
        return np.ones(len(goodness))
    ranks = average_ranks(np.nan_to_num(goodness, nan=-np.inf))
    return (ranks - 1.0) / (len(goodness) - 1.0)


def _get_slice_info(rows: Sequence[TrialRow], space: Mapping[str, BaseDistribution], objective: Objective) -> SliceInfo:
    finished = [r for r in rows if r.finished]
    names = list(space)[:MAX_PANELS]
    jitter = np.random.default_rng(0)
    panels = []
    for name in names:
        dist = space[name]
        have = [r for r in finished if r.params.get(name) is not None]
        y = np.array([r.values[0] for r in have], dtype=float)
        numbers = np.array([r.number if r.number is not None else -1 for r in have], dtype=float)
        if isinstance(dist, CategoricalDistribution):
            labels = tuple(str(c) for c in dist.choices)
            index = np.array([labels.index(r.params[name]) if r.params[name] in labels else -1 for r in have])
            x = index + jitter.uniform(-0.15, 0.15, len(index))
            panels.append(SlicePanel(name, x, y, numbers, labels, False))
        else:
            x = np.array([_number(r.params[name], dist) for r in have], dtype=float)
            panels.append(SlicePanel(name, x, y, numbers, None, is_log(dist), isinstance(dist, IntDistribution)))
    note = f"showing {len(names)} of {len(space)} parameters" if len(space) > len(names) else None
    scale = choose_scale(np.array([r.values[0] for r in finished], dtype=float))
    return SliceInfo(objective, tuple(panels), note, scale)


def _get_pareto_info(rows: Sequence[TrialRow], objectives: Sequence[Objective]) -> ParetoInfo:
    finished = [r for r in rows if r.finished]
    points = np.array([r.values[:2] for r in finished], dtype=float).reshape(-1, 2)
    front = np.array([r.values[:2] for r in finished if r.front == 1], dtype=float).reshape(-1, 2)
    front = front[np.argsort(front[:, 0], kind="stable")]
    note = None
    if len(objectives) > 2:
        note = f"showing the first two of {len(objectives)} objectives; fronts use all of them"
    scales = (choose_scale(points[:, 0]), choose_scale(points[:, 1]))
    return ParetoInfo((objectives[0], objectives[1]), points, front, note, scales)


def _spread(rows: Sequence[TrialRow], limit: int, keep_best: int = 200) -> list[TrialRow]:
    """The best ``keep_best`` rows and an even spread of the rest, at most ``limit`` in all."""
    if len(rows) <= limit:
        return list(rows)
    rest = rows[keep_best:]
    picks = np.unique(np.linspace(0, len(rest) - 1, limit - keep_best).astype(int))
    return [*rows[:keep_best], *(rest[i] for i in picks)]


def _number(text: str | None, dist: BaseDistribution) -> float:
    if text is None:
        return math.nan
    try:
        return float(param_value(text, dist))  # type: ignore[arg-type]
    except ValueError:
        return math.nan


def _short(value: object, width: int = 18) -> str:
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
