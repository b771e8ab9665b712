"""Multi-objective ranking over plain arrays: non-dominated sorting, crowding distance, hypervolume."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reports.sweep import Goal


def to_minimization(points: Sequence[Sequence[float]] | np.ndarray, goals: Sequence[Goal]) -> np.ndarray:
    """A float array where smaller is better in every column (maximised columns negated)."""
    array = np.asarray(points, dtype=float).reshape(-1, len(goals))
    signs = np.array([-1.0 if g == "maximize" else 1.0 for g in goals])
    return array * signs


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is no worse than ``b`` everywhere and strictly better somewhere (minimisation)."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_sort(points: np.ndarray) -> np.ndarray:
    """Front index (0 = Pareto front) of each row of a minimisation array."""
    n = len(points)
    fronts = np.full(n, -1, dtype=int)
    if n == 0:
        return fronts
    # dominated_by[i, j]: j dominates i. An n x n x m comparison is fine for the few thousand
    # trials a sweep holds, and keeps the peeling loop below free of Python-level pairs.
    le = np.all(points[None, :, :] <= points[:, None, :], axis=2)
    lt = np.any(points[None, :, :] < points[:, None, :], axis=2)
    dominated_by = le & lt
    remaining = np.ones(n, dtype=bool)
    front = 0
    while remaining.any():
        counts = (dominated_by & remaining[None, :]).sum(axis=1)
        current = remaining & (counts == 0)
        fronts[current] = front
        remaining &= ~current
        front += 1
    return fronts


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of the rows of one front; boundary points get infinity."""
    n, m = points.shape if points.ndim == 2 else (len(points), 0)
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for column in range(m):
        order = np.argsort(points[:, column], kind="stable")
        values = points[order, column]
        span = values[-1] - values[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if not np.isfinite(span) or span == 0:
            continue
        gaps = (values[2:] - values[:-2]) / span
        distance[order[1:-1]] += np.nan_to_num(gaps, nan=0.0, posinf=0.0)
    return distance


def pareto_front_mask(points: Sequence[Sequence[float]], goals: Sequence[Goal]) -> np.ndarray:
    """Which rows are on the Pareto front."""
    return non_dominated_sort(to_minimization(points, goals)) == 0


def reference_point(points: Sequence[Sequence[float]], goals: Sequence[Goal], margin: float = 0.1) -> np.ndarray:
    """A reference point just beyond the worst value of each objective (in the objectives' own units)."""
    minimized = to_minimization(points, goals)
    worst = minimized.max(axis=0)
    best = minimized.min(axis=0)
    pad = np.where(worst > best, (worst - best) * margin, np.maximum(np.abs(worst) * margin, 1e-12))
    signs = np.array([-1.0 if g == "maximize" else 1.0 for g in goals])
    return (worst + pad) * signs


def hypervolume(
    front: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float], goals: Sequence[Goal]
) -> float:
    """Volume dominated by ``front`` and bounded by ``reference``, in the objectives' own units."""
    points = to_minimization(front, goals)
    ref = to_minimization([reference], goals)[0]
    if len(points) == 0:
        return 0.0
    points = points[np.all(points < ref, axis=1)]
    if len(points) == 0:
        return 0.0
    return _wfg(_non_dominated(points), ref)


def _non_dominated(points: np.ndarray) -> np.ndarray:
    unique = np.unique(points, axis=0)
    return unique[non_dominated_sort(unique) == 0]


def _wfg(points: np.ndarray, ref: np.ndarray) -> float:
    # WFG: the volume is the sum of each point's exclusive contribution against the points
    # after it; exact and fast enough for the fronts of a sweep (tens to hundreds of points).
    if len(points) == 0:
        return 0.0
    if points.shape[1] == 1:
        return float(ref[0] - points[:, 0].min())
    if points.shape[1] == 2:
        return _hv2d(points, ref)
    points = points[np.argsort(points[:, 0], kind="stable")]
    total = 0.0
    for i, point in enumerate(points):
        box = float(np.prod(ref - point))
        rest = points[i + 1 :]
        if len(rest):
            limited = _non_dominated(np.maximum(rest, point))
            box -= _wfg(limited, ref)
        total += box
    return total


def _hv2d(points: np.ndarray, ref: np.ndarray) -> float:
    ordered = points[np.lexsort((points[:, 1], points[:, 0]))]
    volume, last_y = 0.0, ref[1]
    for x, y in ordered:
        if y < last_y:
            volume += (ref[0] - x) * (last_y - y)
            last_y = y
    return float(volume)
