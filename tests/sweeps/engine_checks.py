"""Helpers of the engine tests: sweep configs and the store invariants every sweep must keep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import tracking
from sweeps import SweepResult
from tests.sweeps import objectives
from tracking import Run, RunStatus


def sweep_config(
    objective: str,
    place_artifacts: str,
    *,
    trials: int = 6,
    backend: str = "ray",
    parameters: Mapping[str, object] | None = None,
    metric: tuple[str, str] = ("loss", "minimize"),
    **sections: object,
) -> dict[str, object]:
    """A config dict for `objectives.<objective>` with a one-float space unless told otherwise."""
    execution = {"backend": backend, "concurrency": 2, "resources": {"cpu": 1}}
    execution.update(sections.pop("execution", {}))  # type: ignore[arg-type]
    config: dict[str, object] = {
        "name": f"t-{objective}",
        "experiment": "engine-tests",
        "objective": objectives.ref(objective),
        "metric": {"name": metric[0], "goal": metric[1]},
        "parameters": dict(parameters) if parameters is not None else {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "sampler": {"name": "tpe", "seed": 1},
        "pruner": {"name": "none"},
        "budget": {"trials": trials},
        "execution": execution,
        "artifacts": place_artifacts,
    }
    config.update(sections)
    return config


def check_store(client: tracking.TrackingClient, result: SweepResult, *, metric: str | None = None) -> list[Run]:
    """The invariants of a stored sweep; returns its child runs sorted by trial number.

    One parent (status = the result's), one child per trial started, unique trial numbers
    0..n-1, no child left RUNNING, statuses adding up to the result's counts, an objective
    value on every FINISHED child, an error on every FAILED one, and every metric's steps
    contiguous from 0 (each reported step present).
    """
    parents = client.search_runs(
        filter=f"tags.`sweeps.sweep_id` = '{result.sweep_id}' and tags.`sweeps.kind` = 'sweep'"
    )
    assert parents.height == 1, parents
    parent = client.get_run(result.parent_run_id)
    assert parent.status.value == result.status
    assert parent.end_time is not None
    children = client.child_runs(parent.run_id)
    assert len(children) == result.n_trials
    numbers = [int(r.tags["sweeps.trial_number"]) for r in children]
    assert sorted(numbers) == list(range(len(children))), numbers
    statuses = Counter(r.status for r in children)
    assert statuses[RunStatus.RUNNING] == 0, statuses
    assert statuses[RunStatus.FINISHED] == result.n_finished
    assert statuses[RunStatus.PRUNED] == result.n_pruned
    assert statuses[RunStatus.FAILED] == result.n_failed
    assert statuses[RunStatus.KILLED] == result.n_killed
    for run in children:
        assert run.tags["sweeps.kind"] == "trial" and run.tags["sweeps.sweep_id"] == result.sweep_id
        assert run.name == f"trial-{run.tags['sweeps.trial_number']}"
        assert run.end_time is not None
        if run.status is RunStatus.FINISHED and metric is not None:
            assert f"objective.{metric}" in run.metrics, run
        if run.status is RunStatus.FAILED:
            assert run.error, run
        for key, summary in run.metrics.items():
            history = client.get_metric_history(run.run_id, key)
            assert [m.step for m in history] == list(range(summary.last_step + 1)), (key, history)
    return sorted(children, key=lambda r: int(r.tags["sweeps.trial_number"]))
