"""`sweeps resume ID --set budget.trials=N` raises the budget; any other key exits 2 naming it."""

from __future__ import annotations

import pytest

from tests.sweeps.conftest import SweepPlace
from tests.sweeps.test_cli_run import cli, run_sweep


def test_resume_with_a_larger_budget_runs_the_difference(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, _, _, sweep_id = run_sweep(capsys, place, "--no-report", "--set", "budget.trials=2")
    assert code == 0
    code, out, _ = cli(capsys, "resume", sweep_id, "--set", "budget.trials=4", "--store", place.store, "--no-report")
    assert code == 0, out
    with place.client() as client:
        parent = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert len(client.child_runs(parent["run_id"][0])) == 4
    code, _, err = cli(capsys, "resume", sweep_id, "--set", "execution.concurrency=4", "--store", place.store)
    assert code == 2 and "execution.concurrency: only budget keys" in err
