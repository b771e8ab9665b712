"""Repeated seeds: grouping, intervals, and the noise verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from reports import group_by_seed, noise_verdict, rank_groups
from reports.seeds import SINGLE_SEED, summarize


def test_groups_share_everything_but_the_seed() -> None:
    rows = [
        ("a", {"lr": "0.1", "seed": "0"}, 0.90),
        ("b", {"lr": "0.1", "seed": "1"}, 0.92),
        ("c", {"lr": "0.2", "seed": "0"}, 0.80),
        ("d", {"lr": "0.1", "seed": "2"}, math.nan),  # failed: left out
        ("e", {"lr": "0.3"}, 0.5),  # no seed param: alone
        ("f", {"lr": "0.3"}, 0.6),
    ]
    groups = group_by_seed(rows)
    assert [g.run_ids for g in groups] == [("a", "b"), ("c",), ("e",), ("f",)]
    assert groups[0].params == {"lr": "0.1"} and groups[0].seeds == ("0", "1")
    assert groups[0].mean == pytest.approx(0.91)
    assert math.isnan(groups[1].std) and math.isnan(groups[1].ci_low)
    assert [g.run_ids[0] for g in rank_groups(groups, "maximize")] == ["a", "c", "f", "e"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=12))
def test_interval_is_the_t_interval(values: list[float]) -> None:
    mean, std, low, high = summarize(values)
    assert low <= mean <= high
    if std > 0:
        expected = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=std / math.sqrt(len(values)))
        assert (low, high) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_single_seed_cannot_tell() -> None:
    verdict = noise_verdict([0.9], [0.8])
    assert verdict.verdict == "cannot tell" and verdict.message == SINGLE_SEED and not verdict.significant
    assert noise_verdict([0.9, 0.91], [0.8]).verdict == "cannot tell"


def test_a_clear_gap_is_larger_than_the_noise() -> None:
    verdict = noise_verdict([0.95, 0.951, 0.949, 0.952], [0.90, 0.901, 0.899, 0.902], "maximize")
    assert verdict.significant and verdict.p_value is not None and verdict.p_value < 0.001
    assert verdict.gap == pytest.approx(0.05, abs=1e-3)
    assert "Welch" in verdict.message


def test_a_gap_inside_the_noise_is_within_it() -> None:
    verdict = noise_verdict([0.91, 0.80, 0.99, 0.85], [0.90, 0.82, 0.97, 0.84], "maximize")
    assert verdict.verdict == "within noise" and verdict.p_value is not None and verdict.p_value > 0.05


def test_goal_decides_which_way_counts() -> None:
    # For a loss, the "best" having a larger mean is never a real lead.
    verdict = noise_verdict([2.0, 2.01, 2.02], [1.0, 1.01, 1.02], "minimize")
    assert verdict.verdict == "within noise"
    assert noise_verdict([1.0, 1.01, 1.02], [2.0, 2.01, 2.02], "minimize").significant


def test_identical_reruns_have_no_noise() -> None:
    assert noise_verdict([0.9, 0.9], [0.8, 0.8]).significant
    assert noise_verdict([0.9, 0.9], [0.9, 0.9]).verdict == "within noise"
