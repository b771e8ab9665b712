"""A sweep driven through an outage of its store (a database or a server restarting): every trial
FINISHED with exactly the points it logged, none left RUNNING."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import sweeps
import tracking
from sweeps import SweepResult
from tests.support import polling
from tests.sweeps import outage_objective
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import RunStatus

TRIALS = 10
WAIT_S = 120.0


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    polling.wait_until(condition, timeout_s, every_s=0.02)


def sweep_through(outage: Callable[[], None], uri: str, tmp_path: Path) -> None:
    """Run a sweep on ``uri``, call ``outage`` once two trials are done, and check what was stored."""
    artifacts = str(tmp_path / "artifacts")
    config = sweep_config(
        "paced",
        artifacts,
        trials=TRIALS,
        # A pruner that never prunes: each report is a round trip carrying the trial's points
        # to the driver's sink while the trial runs, so the outage meets points in flight.
        pruner={"name": "median", "n_startup_trials": 10_000},
    )
    config["objective"] = outage_objective.REF
    completed: list[int] = [0]
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            results.append(
                sweeps.run(config, store=uri, no_report=True, progress=lambda p: completed.__setitem__(0, p.completed))
            )
        except BaseException as exc:
            errors.append(exc)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    wait_until(lambda: completed[0] >= 2 or not driver.is_alive())
    done_before = completed[0]
    outage()
    assert done_before < TRIALS, "the sweep ended before the outage began"
    driver.join(WAIT_S)
    assert not driver.is_alive(), "the sweep never ended"
    assert errors == []
    (result,) = results
    assert (result.status, result.n_finished, result.n_failed) == ("FINISHED", TRIALS, 0)
    with tracking.connect(uri, artifacts) as client:
        children = check_store(client, result, metric="loss")
        for run in children:
            assert run.status is RunStatus.FINISHED
            for key in ("loss", "aux"):
                steps = [m.step for m in client.get_metric_history(run.run_id, key)]
                assert steps == list(range(outage_objective.STEPS)), (run.name, key, steps)
