"""A resumed sweep continues its seeded sampler (no configuration is tried twice), re-runs the trials
a crashed driver left running with their params, and takes a larger budget (`--set budget.trials=N`)."""

from __future__ import annotations

import pytest

import sweeps
from sweeps.config import ConfigError
from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import run_trial
from sweeps.engine.local_backend import InProcessChannel
from sweeps.engine.messages import TrialAssignment, WorkerInfo
from sweeps.engine.parent import SweepSetup, new_sweep_id
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import Run, RunStatus

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "y": {"type": "float", "low": -1.0, "high": 1.0}}
CRASHED = "driver stopped before the trial finished"


def crash_after(place: SweepPlace, config: dict[str, object], finished: int) -> tuple[str, TrialAssignment]:
    """Run `finished` trials in-process, start one more, and drop the driver as a crash would."""
    cfg = sweeps.load_config(config)
    setup = SweepSetup(cfg, new_sweep_id(cfg.name), place.store, place.artifacts)
    coordinator = Coordinator(setup)
    worker = WorkerInfo("w-1", "host")
    objective = sweeps.config.resolve_objective(str(config["objective"]))
    for _ in range(finished):
        assignment = coordinator.next_trial(worker)
        assert assignment is not None
        coordinator.finish(run_trial(objective, assignment, InProcessChannel(coordinator)))
    orphan = coordinator.next_trial(worker)
    assert orphan is not None
    coordinator._best_tags.shutdown(wait=True)
    coordinator._client.close()
    return setup.sweep_id, orphan


def configurations(runs: list[Run]) -> list[tuple[str, ...]]:
    return [tuple(run.params[name] for name in SPACE) for run in runs]


@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc", "cmaes", "nsga2"])
def test_a_resumed_seeded_sampler_never_repeats_a_configuration(place: SweepPlace, sampler: str) -> None:
    config = sweep_config("xy", place.artifacts, trials=12, backend="local", parameters=SPACE)
    config["sampler"] = {"name": sampler, "seed": 7}
    sweep_id, _ = crash_after(place, config, finished=6)
    result = sweeps.resume(sweep_id, store=place.store, no_report=True)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert len(runs) == 13 and runs[6].error == CRASHED  # 12 counted + the crashed one
    seen = configurations([r for r in runs if "sweeps.rerun_of" not in r.tags])  # the re-run repeats trial 6 on purpose
    assert len(seen) == len(set(seen)) == 12, seen


def test_a_crashed_trial_is_rerun_with_its_params_and_the_budget_counts_finished_work(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=5, backend="local", parameters=SPACE)
    sweep_id, orphan = crash_after(place, config, finished=2)
    result = sweeps.resume(sweep_id, store=place.store, no_report=True)
    assert result.status == "FINISHED"
    assert (result.n_trials, result.n_finished, result.n_failed) == (6, 5, 1)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    crashed = runs[orphan.number]
    assert crashed.run_id == orphan.run_id and crashed.status is RunStatus.FAILED and crashed.error == CRASHED
    reruns = [r for r in runs if r.tags.get("sweeps.rerun_of") == str(orphan.number)]
    assert len(reruns) == 1 and reruns[0].status is RunStatus.FINISHED
    assert int(reruns[0].tags["sweeps.trial_number"]) == 3  # the first trial the resume launched
    assert {k: reruns[0].params[k] for k in SPACE} == {k: crashed.params[k] for k in SPACE}
    # a second resume neither re-runs it again nor counts the crash
    again = sweeps.resume(sweep_id, store=place.store, no_report=True)
    assert (again.n_trials, again.n_finished) == (6, 5)


def test_resume_raises_the_budget_and_keeps_it(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=3, backend="local", parameters=SPACE)
    first = sweeps.run(config, store=place.store, no_report=True)
    assert first.n_trials == 3
    more = sweeps.resume(first.sweep_id, store=place.store, no_report=True, overrides=["budget.trials=5"])
    assert (more.status, more.n_trials, more.n_finished) == ("FINISHED", 5, 5)
    again = sweeps.resume(first.sweep_id, store=place.store, no_report=True)
    assert again.n_trials == 5  # the raised budget was stored with the sweep
    with place.client() as client:
        runs = check_store(client, again, metric="loss")
        assert client.get_run(again.parent_run_id).tags["sweeps.budget.trials"] == "5"
    assert len(set(configurations(runs))) == 5


def test_resume_refuses_any_change_but_the_budget(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=1, backend="local", parameters=SPACE)
    first = sweeps.run(config, store=place.store, no_report=True)
    with pytest.raises(ConfigError, match=r"sampler\.seed: only budget keys .* can change on resume"):
        sweeps.resume(first.sweep_id, store=place.store, overrides={"sampler.seed": 3, "budget.trials": 4})
    with place.client() as client:
        assert len(client.child_runs(first.parent_run_id)) == 1  # refused before anything ran


def test_budget_target_stops_the_sweep_once_the_best_reaches_it(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=30, backend="local", parameters=SPACE)
    config["enqueue"] = [{"x": 0.5, "y": 0.0}, {"x": 0.9, "y": 0.0}]
    config["budget"] = {"trials": 30, "target": 0.26}  # xy's loss: x**2 + y**2; the first enqueued one gives 0.25
    result = sweeps.run(config, store=place.store, no_report=True)
    assert result.n_trials == 1 and result.best is not None
    assert result.best.params["x"] == "0.5" and result.best.tags["sweeps.enqueued"] == "0"
    assert any("budget.target" in note for note in result.notes)
    maximize = sweep_config("xy", place.artifacts, trials=30, backend="local", parameters=SPACE)
    maximize.update(metric={"name": "loss", "goal": "maximize"}, budget={"trials": 30, "target": 0.5})
    maximize["enqueue"] = [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.0}, {"x": 0.2, "y": 0.2}]
    up = sweeps.run(maximize, store=place.store, no_report=True)
    assert up.n_trials == 2  # 0.02 does not reach 0.5 when maximizing; 0.81 does


def test_warm_start_feeds_earlier_trials_and_refuses_a_different_space(place: SweepPlace) -> None:
    tpe = {"name": "tpe", "seed": 1, "n_startup_trials": 4}
    earlier = sweeps.run(
        sweep_config("xy", place.artifacts, trials=4, backend="local", parameters=SPACE, sampler=tpe),
        store=place.store,
        no_report=True,
    )
    config = sweep_config("xy", place.artifacts, trials=3, backend="local", parameters=SPACE, sampler=tpe)
    control = sweeps.run(config, store=place.store, no_report=True)  # no warm start: the same random start
    assert {r.params["x"] for r in _children(place, control)} < {r.params["x"] for r in _children(place, earlier)}
    config["warm_start"] = {"sweeps": [earlier.sweep_id]}
    cfg = sweeps.load_config(config)
    with place.client() as client:
        from sweeps.engine.warm_start import warm_trials

        warm = warm_trials(client, cfg)
    assert len(warm) == 4 and {t.params["x"] for t in warm} == {float(r.params["x"]) for r in _children(place, earlier)}
    result = sweeps.run(config, store=place.store, no_report=True)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")  # its own trials are numbered 0.. as always
        assert client.get_run(result.parent_run_id).tags["sweeps.warm_start.trials"] == "4"
    # 4 finished trials in the study already: TPE models them from the first trial on
    assert len(runs) == 3 and not {r.params["x"] for r in runs} & {r.params["x"] for r in _children(place, earlier)}

    other = dict(SPACE, x={"type": "float", "low": 0.0, "high": 2.0})
    wider = sweep_config("xy", place.artifacts, trials=3, backend="local", parameters=other)
    wider["warm_start"] = {"sweeps": [earlier.sweep_id[:-2]]}
    with pytest.raises(
        ConfigError, match=r"warm_start\.sweeps\[0\]: .*parameter 'x' differs: float \[0\.0, 1\.0\] there"
    ):
        sweeps.run(wider, store=place.store)
    with place.client() as client:
        assert client.search_runs(filter="tags.`sweeps.kind` = 'sweep'").height == 3  # the refused one wrote nothing


def _children(place: SweepPlace, result: sweeps.SweepResult) -> list[Run]:
    with place.client() as client:
        return client.child_runs(result.parent_run_id)
