"""Ranking: property tests over plain records, and the leaderboard read from a store."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import SweepSet, make_sweep

import reports
import tracking
from reports import TrialRecord, rank_trials, sections
from reports.pareto import dominates, to_minimization
from tests.support.error_texts import RAY_OOM, SQLALCHEMY

STATUSES = ["FINISHED", "FINISHED", "FINISHED", "PRUNED", "FAILED", "KILLED", "RUNNING"]
VALUES = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.0, 2.0, -1.0, math.inf, math.nan])
GOALS = st.sampled_from(["maximize", "minimize"])


@st.composite
def records(draw: st.DrawFn, objectives: int = 1) -> list[TrialRecord]:
    count = draw(st.integers(0, 25))
    out = []
    for number in range(count):
        out.append(
            TrialRecord(
                run_id=f"run{number:03d}",
                status=draw(st.sampled_from(STATUSES)),
                values=tuple(draw(VALUES) for _ in range(objectives)),
                number=number,
                end_time=draw(st.one_of(st.none(), st.integers(0, 5))),
                secondary=draw(VALUES),
            )
        )
    return out


def _better_or_equal(a: float, b: float, goal: str) -> bool:
    return a >= b if goal == "maximize" else a <= b


@settings(max_examples=200, deadline=None)
@given(records(), GOALS)
def test_finished_trials_come_first_best_first(trials: list[TrialRecord], goal: str) -> None:
    order = rank_trials(trials, [goal])
    ranked = [r for r in order if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r.trial.rankable for r in ranked)
    assert all(r.rank is None for r in order[len(ranked) :]), "an unranked trial sits above a ranked one"
    assert {r.trial.run_id for r in order} == {t.run_id for t in trials}
    for earlier, later in itertools.pairwise(ranked):
        assert _better_or_equal(earlier.trial.values[0], later.trial.values[0], goal)


@settings(max_examples=200, deadline=None)
@given(records(), GOALS, st.one_of(st.none(), GOALS), st.randoms(use_true_random=False))
def test_order_does_not_depend_on_input_order(
    trials: list[TrialRecord], goal: str, secondary: str | None, rnd: random.Random
) -> None:
    shuffled = list(trials)
    rnd.shuffle(shuffled)
    first = [r.trial.run_id for r in rank_trials(trials, [goal], secondary)]  # type: ignore[arg-type]
    again = [r.trial.run_id for r in rank_trials(shuffled, [goal], secondary)]  # type: ignore[arg-type]
    assert first == again


@settings(max_examples=200, deadline=None)
@given(records(), GOALS, GOALS)
def test_ties_break_on_secondary_then_lower_trial_number(trials: list[TrialRecord], goal: str, second: str) -> None:
    ranked = [r.trial for r in rank_trials(trials, [goal], second) if r.rank is not None]  # type: ignore[arg-type]
    for a, b in itertools.pairwise(ranked):
        if a.values[0] != b.values[0]:
            continue
        if math.isnan(a.secondary) or math.isnan(b.secondary):
            assert not (math.isnan(a.secondary) and not math.isnan(b.secondary)), "NaN secondary ranked above a value"
            continue
        assert _better_or_equal(a.secondary, b.secondary, second)
        if a.secondary == b.secondary:
            assert (a.number if a.number is not None else math.inf) <= (b.number if b.number is not None else math.inf)


@settings(max_examples=200, deadline=None)
@given(records(objectives=2), st.lists(GOALS, min_size=2, max_size=2))
def test_pareto_rank_never_puts_a_dominated_trial_above_its_dominator(
    trials: list[TrialRecord], goals: list[str]
) -> None:
    order = rank_trials(trials, goals)  # type: ignore[arg-type]
    ranked = [r for r in order if r.rank is not None]
    points = to_minimization([r.trial.values for r in ranked], goals)  # type: ignore[arg-type]
    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            assert not dominates(points[j], points[i]), "a trial sits above one that dominates it"
    fronts = [r.front for r in ranked]
    assert fronts == sorted(fronts)
    assert all(r.rank is None for r in order[len(ranked) :])


def test_failed_trial_with_a_great_value_is_still_listed_apart() -> None:
    trials = [
        TrialRecord("a", "FINISHED", (0.5,), 0, 10),
        TrialRecord("b", "FAILED", (0.99,), 1, 5),
        TrialRecord("c", "PRUNED", (0.9,), 2, 6),
        TrialRecord("d", "FINISHED", (math.nan,), 3, 7),
    ]
    order = rank_trials(trials, ["maximize"])
    assert [(r.trial.run_id, r.rank) for r in order] == [("a", 1), ("d", None), ("c", None), ("b", None)]


def test_equal_values_go_to_the_lower_trial_number_whatever_finished_first() -> None:
    # one rule for "best" (tracking.sweep_layout.best_key): the Tally, resume and the registry agree with this order
    trials = [TrialRecord("late", "FINISHED", (1.0,), 0, 200), TrialRecord("early", "FINISHED", (1.0,), 1, 100)]
    assert [r.trial.run_id for r in rank_trials(trials, ["minimize"])] == ["late", "early"]


# -- from the store ----------------------------------------------------------------------


def test_leaderboard_of_a_stored_sweep(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    board = reports.leaderboard(report_client, sweeps.mixed.sweep_id)
    assert board.height == 24
    for column in ("rank", "trial", "run_id", "status", "value", "duration_s", "best_step", "params.alpha"):
        assert column in board.columns
    ranked = board.filter(pl.col("rank").is_not_null())
    assert ranked["status"].unique().to_list() == ["FINISHED"]
    assert ranked["value"].to_list() == sorted(ranked["value"].to_list(), reverse=True)
    ranks = board["rank"].to_list()
    first_apart = ranks.index(None) if None in ranks else len(ranks)
    assert all(r is not None for r in ranks[:first_apart]) and all(r is None for r in ranks[first_apart:])
    statuses = {sweeps.mixed.statuses[r]: None for r in sweeps.mixed.trial_run_ids}
    assert set(board["status"]) == set(statuses)
    assert board.schema["params.alpha"] == pl.Float64 and board.schema["params.epochs"] == pl.Int64
    assert board.schema["params.penalty"] == pl.String
    best_id = report_client.get_run(sweeps.mixed.parent_run_id).tags["sweeps.best_run_id"]
    assert board["run_id"][0] == best_id


def test_leaderboard_top_k_and_secondary(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    board = reports.leaderboard(report_client, sweeps.mixed.sweep_id, top_k=3, secondary="train_loss:minimize")
    assert board.height == 3 and board["rank"].to_list() == [1, 2, 3]
    assert "secondary.train_loss" in board.columns


def test_multi_objective_leaderboard_has_fronts(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    board = reports.leaderboard(report_client, sweeps.multi.sweep_id)
    ranked = board.filter(pl.col("rank").is_not_null())
    assert ranked["front"].to_list() == sorted(ranked["front"].to_list())
    assert ranked["front"][0] == 1
    points = ranked.select("objective.val_accuracy", "objective.fit_seconds").to_numpy()
    front = ranked["front"].to_numpy() == 1
    assert np.array_equal(front, reports.pareto_front_mask(points, ["maximize", "minimize"]))


def test_repeated_seeds_are_grouped(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    board = reports.leaderboard(report_client, sweeps.seeds.sweep_id)
    groups = board.filter(pl.col("seed_group").is_not_null()).group_by("seed_group").len()
    assert groups.height == 6 and set(groups["len"]) == {4}


def test_unknown_sweep_says_what_exists(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    with pytest.raises(reports.SweepNotFound, match="did you mean mixed-00000001"):
        reports.leaderboard(report_client, "mixed-0000000x")  # a typo, not a prefix of any id


def test_an_unambiguous_prefix_names_the_sweep(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    sweep = reports.load_sweep(report_client, "mixed-0000000")
    assert sweep.sweep_id == "mixed-00000001" and sweep.trials


def test_ranking_reads_no_metric_history(
    report_client: tracking.TrackingClient,
    sweeps: SweepSet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ranking must read the per-run summaries, not the histories")

    monkeypatch.setattr(report_client, "metric_histories", refuse)
    monkeypatch.setattr(report_client, "get_metric_history", refuse)
    assert reports.leaderboard(report_client, sweeps.multi.sweep_id).height == 24


def test_sweep_lookup_on_every_backend(client: tracking.TrackingClient) -> None:
    # ``client`` is the shared fixture: one SQLite and one PostgreSQL store.
    made = make_sweep(client, sweep_id="pg-00000001", n_trials=6, random_seed=11)
    make_sweep(client, sweep_id="pg-00000002", n_trials=2, random_seed=12)
    assert reports.find_sweep(client, "pg-00000001").run_id == made.parent_run_id
    assert reports.list_sweep_ids(client) == ["pg-00000001", "pg-00000002"]
    sweep = reports.load_sweep(client, "pg-00000001")
    assert {r.run_id for r in sweep.trials} == set(made.trial_run_ids)
    assert sorted(r.run_id for r in sweep.trials) == sorted(r.run_id for r in client.child_runs(made.parent_run_id))
    assert reports.leaderboard(client, "pg-00000001").height == 6
    with pytest.raises(reports.SweepNotFound):
        reports.find_sweep(client, "pg-00000003x")


def test_the_error_column_keeps_the_meaningful_line(fresh_client: tracking.TrackingClient) -> None:
    made = make_sweep(fresh_client, sweep_id="errs-1", n_trials=2, pruned=0.0, failed=1.0)
    parent = fresh_client.get_run(made.parent_run_id)
    for number, text in enumerate((SQLALCHEMY, RAY_OOM), start=2):
        tags = {"sweeps.kind": "trial", "sweeps.sweep_id": made.sweep_id, "sweeps.trial_number": str(number)}
        fresh_client.start_run("demo", f"trial-{number}", tags=tags, parent=parent).end("FAILED", text)
    sweep = reports.load_sweep(fresh_client, made.sweep_id)
    frame = reports.leaderboard_frame(sweep)
    errors = dict(zip(frame["trial"].to_list(), frame["error"].to_list(), strict=True))
    # The report's failures table summarises each error the same way.
    rows = sections.trial_rows(sweep, reports.rank_trials(reports.trial_records(sweep), ["maximize"]))
    summaries = {int(row.trial): row.summary for row in sections.failures(sweep, rows).rows}
    for found in (errors, summaries):
        assert found[2].startswith("sqlalchemy.exc.OperationalError: (psycopg.OperationalError)"), found[2]
        assert found[3] == (
            "Memory on the node (IP: 192.168.0.107) was 59.49GB / 62.58GB (0.950744), "
            "which exceeds the memory usage threshold of 0.95"
        )
