"""`repeats:`: each configuration runs once per seed (one group), Optuna and the pruner see the mean,
and the leaderboard, `sweeps show`, the registry and the report speak of configurations by mean."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import pytest

import sweeps
from reports import config_ranking
from sweeps.config import Repeats
from sweeps.engine import queue_tags
from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import run_trial
from sweeps.engine.groups import Groups
from sweeps.engine.local_backend import InProcessChannel
from sweeps.engine.messages import WorkerInfo
from sweeps.engine.parent import SweepSetup, new_sweep_id
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config
from tests.sweeps.test_cli_run import cli
from tracking import Run, RunStatus

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "seed": 0}
REPEATS = {"param": "seed", "values": [0, 1, 2]}


def repeated(place: SweepPlace, trials: int, backend: str = "local", **kw: object) -> dict[str, object]:
    config = sweep_config("seeded", place.artifacts, trials=trials, backend=backend, parameters=SPACE, **kw)
    config["repeats"] = dict(REPEATS)
    return config


def by_group(runs: list[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.tags["sweeps.group"]].append(run)
    return groups


def test_a_group_is_named_by_its_first_repeat_before_any_repeat_has_started() -> None:
    # On Ray both repeats launch at once: the second's group tag is written while the first's
    # run is still being created (named at start, a group was once split in two).
    groups = Groups(Repeats("seed", (0, 1)), next_number=7)
    group = groups.new(handle=None, params={"x": 0.5, "seed": 0})  # type: ignore[arg-type]
    first, second = groups.launch(group), groups.launch(group)
    assert (first[0], second[0], group.number) == (7, 8, 7)
    assert [first[2], second[2]] == [{"x": 0.5, "seed": 0}, {"x": 0.5, "seed": 1}]
    group.started(1, 8, "run-b")  # the second repeat starting first does not rename it
    group.started(0, 7, "run-a")
    assert group.number == 7 and not group.pending


def test_the_mean_of_complete_steps_goes_to_the_pruner() -> None:
    groups = Groups(Repeats("seed", (0, 1)), next_number=0)
    group = groups.new(handle=None, params={"x": 0.5, "seed": 0})  # type: ignore[arg-type]
    assert [group.next_params(), group.next_params()] == [(0, {"x": 0.5, "seed": 0}), (1, {"x": 0.5, "seed": 1})]
    assert group.report(0, 0, 1.0) == []  # repeat 1 has not reached step 0 yet
    assert group.report(1, 0, 3.0) == [(0, 2.0)]
    assert group.report(1, 1, 5.0) == []
    group.ended(0, RunStatus.FAILED, None)  # a failed repeat leaves the mean to the others
    assert group.report(1, 2, 7.0) == [(1, 5.0), (2, 7.0)]
    assert group.ended(1, RunStatus.FINISHED, 7.0) and group.outcome() == (RunStatus.FINISHED, 7.0)


def test_each_configuration_runs_once_per_seed_and_optuna_is_told_the_mean(place: SweepPlace) -> None:
    config = repeated(place, trials=3, pruner={"name": "median", "n_startup_trials": 100})  # asks, never prunes
    cfg = sweeps.load_config(config)
    coordinator = Coordinator(SweepSetup(cfg, new_sweep_id(cfg.name), place.store, place.artifacts))
    objective = sweeps.config.resolve_objective(str(config["objective"]))
    worker = WorkerInfo("w-1", "host")
    while (assignment := coordinator.next_trial(worker)) is not None:
        coordinator.finish(run_trial(objective, assignment, InProcessChannel(coordinator)))
    told = coordinator._bridge.study.get_trials(deepcopy=False)
    coordinator.finalize()
    with place.client() as client:
        runs = client.child_runs(coordinator.parent_run_id)
    assert len(runs) == 9 and len(told) == 3  # 3 configurations x 3 seeds; one Optuna trial each
    for trial, members in zip(told, sorted(by_group(runs).values(), key=lambda m: m[0].start_time), strict=True):
        assert sorted(r.params["seed"] for r in members) == ["0", "1", "2"]
        assert len({r.params["x"] for r in members}) == 1 and trial.params["x"] == float(members[0].params["x"])
        values = [r.metrics["objective.loss"].last for r in members]
        assert trial.value == pytest.approx(statistics.fmean(values))
        for step in range(3):  # the pruner saw the mean of the repeats' reports at every step
            reported = [client_value(r, step) for r in members]
            assert trial.intermediate_values[step] == pytest.approx(statistics.fmean(reported))


def client_value(run: Run, step: int) -> float:
    # `seeded` reports x**2 + 0.01 * seed + (2 - step)
    return float(run.params["x"]) ** 2 + 0.01 * int(run.params["seed"]) + (2 - step)


def test_ranking_show_and_registration_are_by_configuration(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    config = repeated(place, trials=3, register={"model": "seeded"})
    result = sweeps.run(config, store=place.store)
    assert (result.status, result.n_trials, result.n_finished) == ("FINISHED", 9, 9)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
        groups = by_group(runs)
        means = {g: statistics.fmean(r.metrics["objective.loss"].last for r in m) for g, m in groups.items()}
        best_group = min(means, key=means.__getitem__)
        parent = client.get_run(result.parent_run_id)
        assert float(parent.tags["sweeps.best_value"]) == pytest.approx(means[best_group])
        # the best configuration's model is its repeat closest to the mean: seed 1 (offsets 0, .01, .02)
        assert result.best is not None and result.best.tags["sweeps.group"] == best_group
        assert result.best.params["seed"] == "1" and parent.tags["sweeps.best_run_id"] == result.best.run_id
        assert result.registered is not None and result.registered.run_id == result.best.run_id
        entry = next(e for e in client.registry.audit_log("seeded") if e.action == "register")
        assert "best configuration by mean" in (entry.reason or "") and "closest to the mean" in (entry.reason or "")
    board = result.leaderboard()
    assert board.height == 3 and board["n"].to_list() == [3, 3, 3]
    assert board["mean"].to_list() == sorted(means.values())
    assert (board["ci_low"] < board["mean"]).all() and (board["mean"] < board["ci_high"]).all()
    assert board["run_id"][0] == result.best.run_id
    code, out, _ = cli(capsys, "show", result.sweep_id, "--store", place.store)
    assert code == 0 and "ci_low" in out and "best vs runner-up: " in out and "Welch" in out
    assert result.report_path is not None
    html = Path(result.report_path).read_text(encoding="utf-8")
    assert "3 vs 3 seeds" in html  # the report's best vs runner-up compares configurations


def test_repeats_on_ray_run_a_group_in_parallel(place: SweepPlace, ray_session: None) -> None:
    config = repeated(place, trials=2, backend="ray")
    config["repeats"] = {"param": "seed", "values": [0, 1]}
    result = sweeps.run(config, store=place.store, no_report=True)
    assert (result.status, result.n_trials, result.n_finished) == ("FINISHED", 4, 4)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
        groups = by_group(runs)
        assert sorted(len(m) for m in groups.values()) == [2, 2]
        means = [statistics.fmean(r.metrics["objective.loss"].last for r in m) for m in groups.values()]
        assert float(client.get_run(result.parent_run_id).tags["sweeps.best_value"]) == pytest.approx(min(means))
    resumed = sweeps.resume(result.sweep_id, store=place.store, no_report=True, overrides={"budget.trials": 3})
    assert (resumed.n_trials, resumed.n_finished) == (6, 6)  # the budget counts configurations


def test_the_parent_tag_names_are_one() -> None:
    assert queue_tags.REPEATS_PARAM == config_ranking.REPEATS_PARAM
