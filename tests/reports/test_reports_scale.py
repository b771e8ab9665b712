"""A report of a large sweep stays small: the leaderboard shows its first rows and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import SweepSet

import reports
import tracking
from reports import sections
from reports.ranking import rank_trials, trial_records


def test_the_leaderboard_shows_its_first_rows_and_counts_the_rest(
    report_client: tracking.TrackingClient, sweeps: SweepSet
) -> None:
    sweep = reports.load_sweep(report_client, sweeps.mixed.sweep_id)
    order = rank_trials(trial_records(sweep), [o.goal for o in sweep.objectives])
    table = sections.leaderboard_table(sweep, order, [], limit=10)
    assert len(table.rows) == 10 and table.total == len(sweep.trials) == 24
    assert [row[0].sort for row in table.rows] == list(range(1, 11))  # the best ten, best first
    whole = sections.leaderboard_table(sweep, order, [])
    assert len(whole.rows) == 24 and whole.total is None


def test_a_cut_leaderboard_says_where_every_trial_is(
    report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sections, "MAX_LEADERBOARD_ROWS", 5)
    path = reports.build_report(report_client, sweeps.mixed.sweep_id, tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    board = html[html.index('<section id="leaderboard"') : html.index('<section id="history"')]
    assert board.count("<tr") == 6  # the header and five trials
    assert "Showing the first 5 of 24 trials" in board
    assert f"sweeps runs --sweep {sweeps.mixed.sweep_id}" in board
