"""Contract: the sweep hot path — a new run's record, ending runs in batches with their last points."""

from __future__ import annotations

import math

import pytest

from tracking import InvalidParameter, MetricPoint, RunFinished, RunNotFound, RunStatus, TrackingClient
from tracking.store import Store


def test_create_run_returns_what_get_run_reads_back(client: TrackingClient, store: Store) -> None:
    parent = client.start_run("e", "parent")
    experiment = client.get_or_create_experiment("e")
    for _ in range(2):  # the second time the parent is known to exist
        created = store.create_run(
            experiment,
            name="child",
            parent_run_id=parent.run_id,
            tags={"a": "1", "b": "two"},
            params={"x": "0.5", "n": "3"},
            user="someone",
        )
        assert created == client.get_run(created.run_id)
        assert created.parent_run_id == parent.run_id and dict(created.params) == {"x": "0.5", "n": "3"}


def test_start_run_under_an_unknown_parent_is_refused(client: TrackingClient) -> None:
    with pytest.raises(RunNotFound):
        client.start_run("e", parent="f" * 32)


def test_end_runs_stores_points_and_statuses_in_one_call(client: TrackingClient) -> None:
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    a.log_metrics({"loss": 3.0}, step=0)  # queued in the sink: stored before the batch
    points = [MetricPoint(a.run_id, "loss", 1, 2.0, 1_000), MetricPoint(b.run_id, "loss", 0, math.nan, 1_000)]
    client.end_runs([(a.run_id, RunStatus.FINISHED, None), (b.run_id, RunStatus.FAILED, "boom")], points)
    ra, rb = client.get_run(a.run_id), client.get_run(b.run_id)
    assert (ra.status, ra.error, rb.status, rb.error) == (RunStatus.FINISHED, None, RunStatus.FAILED, "boom")
    assert ra.end_time is not None and rb.end_time is not None
    assert [m.value for m in client.get_metric_history(a.run_id, "loss")] == [3.0, 2.0]
    assert math.isnan(rb.metrics["loss"].last)
    with pytest.raises(RunFinished):  # an ended run takes no more points
        client.log_metrics(a.run_id, {"loss": 1.0})


def test_end_runs_with_an_unknown_run_writes_nothing(client: TrackingClient) -> None:
    a = client.start_run("e", "a")
    with pytest.raises(RunNotFound):
        client.end_runs(
            [(a.run_id, RunStatus.FINISHED, None), ("0" * 32, RunStatus.FINISHED, None)],
            [MetricPoint(a.run_id, "loss", 0, 1.0, 1_000)],
        )
    run = client.get_run(a.run_id)
    assert run.status is RunStatus.RUNNING and "loss" not in run.metrics


def test_end_runs_checks_points_before_writing(client: TrackingClient) -> None:
    a = client.start_run("e", "a")
    with pytest.raises(InvalidParameter, match="value must be a number"):
        client.end_runs([(a.run_id, RunStatus.FINISHED, None)], [MetricPoint(a.run_id, "loss", 0, "1.0", 1_000)])
    assert client.get_run(a.run_id).status is RunStatus.RUNNING
