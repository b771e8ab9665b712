"""Pareto fronts, crowding distance and hypervolume, checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import crowding_distance, hypervolume, non_dominated_sort, pareto_front_mask, reference_point
from reports.pareto import dominates

points_2d = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), min_size=1, max_size=15)
points_3d = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=10)


def _grid_volume(points: list[tuple[int, ...]], reference: tuple[int, ...]) -> int:
    """Unit cells dominated by some point (minimisation, integer coordinates): the exact volume."""
    cells = 0
    for cell in itertools.product(*(range(r) for r in reference)):
        if any(all(p[k] <= cell[k] for k in range(len(cell))) for p in points):
            cells += 1
    return cells


@settings(max_examples=150, deadline=None)
@given(points_2d)
def test_hypervolume_2d_matches_counting(points: list[tuple[int, int]]) -> None:
    assert hypervolume(points, (9, 9), ["minimize", "minimize"]) == pytest.approx(_grid_volume(points, (9, 9)))


@settings(max_examples=60, deadline=None)
@given(points_3d)
def test_hypervolume_3d_matches_counting(points: list[tuple[int, int, int]]) -> None:
    goals = ["minimize"] * 3
    assert hypervolume(points, (6, 6, 6), goals) == pytest.approx(_grid_volume(points, (6, 6, 6)))


def test_hypervolume_respects_goals() -> None:
    # Maximising both: the points (2, 1) and (1, 2) against (0, 0) cover 2 + 2 - 1 = 3.
    assert hypervolume([(2, 1), (1, 2)], (0, 0), ["maximize", "maximize"]) == pytest.approx(3.0)
    assert hypervolume([(2, 1)], (0, 5), ["maximize", "minimize"]) == pytest.approx(8.0)
    assert hypervolume([(5, 5)], (1, 1), ["minimize", "minimize"]) == 0.0  # beyond the reference
    assert hypervolume([], (1, 1), ["minimize", "minimize"]) == 0.0


@settings(max_examples=150, deadline=None)
@given(points_2d)
def test_fronts_follow_domination(points: list[tuple[int, int]]) -> None:
    array = np.array(points, dtype=float)
    fronts = non_dominated_sort(array)
    for i, j in itertools.permutations(range(len(points)), 2):
        if dominates(array[i], array[j]):
            assert fronts[i] < fronts[j]
    first = [i for i in range(len(points)) if not any(dominates(array[j], array[i]) for j in range(len(points)))]
    assert sorted(np.flatnonzero(fronts == 0)) == first


def test_crowding_distance_boundaries_are_infinite() -> None:
    front = np.array([[0.0, 4.0], [1.0, 2.0], [2.0, 1.0], [4.0, 0.0]])
    distance = crowding_distance(front)
    assert np.isinf(distance[0]) and np.isinf(distance[3])
    assert distance[1] == pytest.approx(2 / 4 + 3 / 4)
    assert distance[2] == pytest.approx(3 / 4 + 2 / 4)


def test_front_mask_and_reference_point() -> None:
    points = [(0.9, 3.0), (0.95, 5.0), (0.8, 4.0), (0.9, 2.0)]
    goals = ["maximize", "minimize"]
    assert pareto_front_mask(points, goals).tolist() == [False, True, False, True]
    reference = reference_point(points, goals)
    assert reference[0] < 0.8 and reference[1] > 5.0
