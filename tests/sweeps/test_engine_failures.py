"""The engine's failure paths on the session's Ray, fast enough for the default suite: dead
workers, trial timeouts, a Ctrl-C, and a grid that runs out of points (before and after a resume)."""

from __future__ import annotations

import signal

import pytest

import sweeps
from sweeps.engine.result import SweepProgress
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import RunStatus

pytestmark = pytest.mark.usefixtures("ray_session")

DIED = "the worker running this trial died"


def on_ray(objective: str, place: SweepPlace, **kw: object) -> dict[str, object]:
    return sweep_config(objective, place.artifacts, backend="ray", **kw)


# -- dead workers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objective", "retries"),
    [("kills_itself", 1), ("dies", 0)],
    ids=["sigkill-retried-once", "os-exit-no-retry"],
)
def test_a_dying_worker_is_retried_then_its_trial_fails_and_the_sweep_goes_on(
    place: SweepPlace, objective: str, retries: int
) -> None:
    # trial 1 kills its worker on every attempt; trials 0 and 2 are unaffected
    result = sweeps.run(on_ray(objective, place, trials=3, execution={"retries": retries}), store=place.store)
    assert result.status == "FINISHED"
    assert (result.n_trials, result.n_finished, result.n_failed) == (3, 2, 1)
    with place.client() as client:
        runs = check_store(client, result)
    assert [r.status for r in runs] == [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.FINISHED]
    dead = runs[1]
    assert dead.tags["sweeps.attempt"] == str(retries)  # the last attempt is the one recorded
    assert DIED in dead.error
    assert f"gave up after {retries + 1} attempt(s) (execution.retries = {retries})" in dead.error


def test_a_worker_dying_on_the_first_attempt_only_is_retried_and_the_trial_finishes(place: SweepPlace) -> None:
    result = sweeps.run(on_ray("dies_once", place, trials=3, execution={"retries": 1}), store=place.store)
    assert result.status == "FINISHED" and (result.n_finished, result.n_failed) == (3, 0)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert [r.tags["sweeps.attempt"] for r in runs] == ["0", "1", "0"]
    assert all(r.error is None for r in runs)


# -- trial timeout -------------------------------------------------------------------------------


def test_a_trial_past_its_timeout_fails_and_the_others_finish(place: SweepPlace) -> None:
    # trial 0 sleeps two minutes; it must be cut at the timeout, not waited for
    config = on_ray("sleepy", place, trials=4, execution={"trial_timeout_s": 2, "retries": 1})
    result = sweeps.run(config, store=place.store)
    assert result.status == "FINISHED" and (result.n_finished, result.n_failed) == (3, 1)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert runs[0].status is RunStatus.FAILED
    assert runs[0].error == "timed out after 2s (execution.trial_timeout_s)"
    assert runs[0].tags["sweeps.attempt"] == "0"  # a timeout is not retried
    assert all(r.status is RunStatus.FINISHED for r in runs[1:])


# -- the grid sampler ----------------------------------------------------------------------------


def grid_config(objective: str, place: SweepPlace, points: list[float], trials: int) -> dict[str, object]:
    return on_ray(
        objective,
        place,
        trials=trials,
        parameters={"x": {"type": "categorical", "choices": points}},
        sampler={"name": "grid", "seed": 0},
    )


def grid_points(runs: list) -> list[float]:  # type: ignore[type-arg]
    return sorted(float(r.params["x"]) for r in runs)


def test_a_grid_smaller_than_the_budget_ends_finished_with_one_trial_per_point(place: SweepPlace) -> None:
    points = [0.25, 0.5, 0.75]
    result = sweeps.run(grid_config("quadratic", place, points, trials=10), store=place.store)
    assert result.status == "FINISHED"
    assert (result.n_trials, result.n_finished, result.n_failed) == (3, 3, 0)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert grid_points(runs) == points


def test_a_resumed_grid_completes_without_repeating_a_point(place: SweepPlace) -> None:
    points = [i / 8 for i in range(8)]
    hold = place.root / "hold"
    hold.write_text("trials 2+ wait while this exists")
    config = grid_config("held_after_two", place, points, trials=20)
    config["parameters"]["hold"] = str(hold)  # type: ignore[index]
    seen: list[SweepProgress] = []

    def ctrl_c_after_two(snapshot: SweepProgress) -> None:
        seen.append(snapshot)
        if snapshot.finished >= 2 and snapshot.status == "RUNNING":
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C: Python raises KeyboardInterrupt here

    # Python's own Ctrl-C handler, as a fresh `sweeps run` process has it: an earlier test's event
    # loop (the browser tests') may leave another one installed in this process.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            sweeps.run(config, store=place.store, progress=ctrl_c_after_two)
    finally:
        signal.signal(signal.SIGINT, previous)
    interrupted = seen[-1]
    assert interrupted.status == "KILLED" and 2 <= interrupted.started < len(points)
    assert interrupted.killed >= 1  # trials 2+ were held running when Ctrl-C came

    hold.unlink()
    result = sweeps.resume(interrupted.sweep_id, store=place.store, no_report=True)
    assert result.status == "FINISHED" and result.n_trials == len(points)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert grid_points(runs) == points  # every point once: killed trials' points are not drawn again
    assert result.n_killed == interrupted.killed
    assert result.n_finished == len(points) - interrupted.killed
