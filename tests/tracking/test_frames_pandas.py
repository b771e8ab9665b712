"""Search results are polars frames that convert to pandas, as MLflow users expect of `search_runs`."""

from __future__ import annotations

import tracking


def test_search_runs_to_pandas_keeps_every_column_and_value(client: tracking.TrackingClient) -> None:
    run = client.start_run("frames", params={"alpha": 0.5}, tags={"team": "vision"})
    run.log_metric("loss", 0.25, step=3)
    run.end()
    frame = client.search_runs(experiment="frames").to_pandas()
    row = frame.iloc[0]
    assert row["run_id"] == run.run_id
    assert row["params.alpha"] == "0.5" and row["tags.team"] == "vision" and row["metrics.loss"] == 0.25
