"""One rule for "best": with tied values every reader names the same trial (the lowest number)."""

from __future__ import annotations

import pytest

import reports
import sweeps
from sweeps.cli import main
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import sweep_layout as layout

pytestmark = pytest.mark.usefixtures("ray_session")


def test_tied_values_name_one_trial_everywhere(place, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    markers = place.root / "markers"
    markers.mkdir()
    config = sweep_config(
        "tied",
        place.artifacts,
        trials=3,
        backend="ray",
        parameters={"x": {"type": "float", "low": 0.0, "high": 1.0}, "marker_dir": str(markers)},
        metric=("score", "maximize"),
        register={"model": "tied"},
    )
    result = sweeps.run(config, store=place.store)
    assert result.status == "FINISHED" and result.n_finished == 3
    with place.client() as client:
        runs = check_store(client, result)
        trial0 = next(r for r in runs if layout.trial_number(r) == 0)
        # trial 0 did not end first: a "first to finish wins" rule would pick another trial
        assert trial0.end_time > min(r.end_time for r in runs)
        parent = client.get_run(result.parent_run_id)
        version = client.registry.get_model_version("tied", 1)
        board = reports.leaderboard(client, result.sweep_id)
    assert result.best is not None and result.best.run_id == trial0.run_id
    assert version.run_id == trial0.run_id
    assert parent.tags[layout.BEST_RUN_ID] == trial0.run_id
    assert board["run_id"][0] == trial0.run_id
    assert main(["show", result.sweep_id, "--store", place.store]) == 0
    assert "best: score=0.5 (trial-0)" in capsys.readouterr().out
