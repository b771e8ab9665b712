"""Engine tests on `backend: local` (in-process, sequential): fast, no Ray needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest
import yaml

import sweeps
import tracking
from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import run_trial
from sweeps.engine.local_backend import InProcessChannel
from sweeps.engine.messages import WorkerInfo
from sweeps.engine.parent import SweepSetup, new_sweep_id
from sweeps.engine.tally import Tally
from tests.sweeps import objectives
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import RunStatus


def local(objective: str, place, **kw: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return sweep_config(objective, place.artifacts, backend="local", **kw)


def test_trial_pruned_is_optunas() -> None:
    # the exported names are pinned in test_engine_exports.py
    assert issubclass(sweeps.TrialPruned, optuna.TrialPruned)


def test_importing_sweeps_does_not_import_ray() -> None:
    code = "import sys, sweeps; sys.exit(1 if 'ray' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_local_sweep_records_parent_and_children(place) -> None:  # type: ignore[no-untyped-def]
    config = local("quadratic", place, trials=5, tags={"team": "vision"})
    result = sweeps.run(config, store=place.store)
    assert result.status == "FINISHED" and result.ok
    assert (result.n_trials, result.n_finished) == (5, 5)
    assert result.report_path == f"sweep-reports/{result.sweep_id}.html", result.notes
    assert os.path.isfile(result.report_path)
    with place.client() as client:
        children = check_store(client, result, metric="loss")
        parent = client.get_run(result.parent_run_id)
        tags = parent.tags
        assert tags["sweeps.kind"] == "sweep" and tags["sweeps.sweep_id"] == result.sweep_id
        assert result.sweep_id.startswith("t-quadratic-") and len(result.sweep_id.rsplit("-", 1)[1]) == 8
        assert json.loads(tags["sweeps.metrics"]) == [{"name": "loss", "goal": "minimize"}]
        assert (tags["sweeps.sampler"], tags["sweeps.pruner"], tags["sweeps.budget.trials"]) == ("tpe", "none", "5")
        assert tags["team"] == "vision" and tags["sweeps.code_version"]
        assert tags["sweeps.best_run_id"] == result.best.run_id
        assert parent.params["budget.trials"] == "5" and parent.params["sampler.name"] == "tpe"
        assert parent.params["parameters.x.high"] == "1.0"
        names = {a.path for a in client.list_artifacts(parent.run_id)}
        assert {"config.yaml", "environment.json"} <= names
        resolved = yaml.safe_load(client.artifacts(parent.run_id).read_bytes("config.yaml"))
        assert resolved["budget"]["trials"] == 5
        env = json.loads(client.artifacts(parent.run_id).read_bytes("environment.json"))
        assert env["packages"]["optuna"] == optuna.__version__
        for run in children:
            assert run.tags["note"] == "quadratic" and run.tags["sweeps.attempt"] == "0"
            assert set(run.params) == {"x"}
            assert len(client.get_metric_history(run.run_id, "loss")) == 3
            assert len(client.get_metric_history(run.run_id, "intermediate.loss")) == 3
        best = min(children, key=lambda r: r.metrics["objective.loss"].last)
        assert result.best is not None and result.best.run_id == best.run_id
    board = result.leaderboard()
    assert board.height == 5 and board["run_id"][0] == best.run_id


def test_overrides_as_keywords_and_dict(place) -> None:  # type: ignore[no-untyped-def]
    config = local("quadratic", place, trials=9)
    result = sweeps.run(config, store=place.store, budget__trials=2, overrides={"sampler.seed": 3})
    assert result.n_trials == 2


def test_define_by_run(place) -> None:  # type: ignore[no-untyped-def]
    config = local("define_by_run", place, trials=6, parameters={}, metric=("total", "minimize"))
    result = sweeps.run(config, store=place.store)
    assert result.n_finished == 6
    with place.client() as client:
        for run in check_store(client, result, metric="total"):
            layers = int(run.params["layers"])
            assert set(run.params) == {"layers", *(f"width_{i}" for i in range(layers))}
            dists = json.loads(run.tags["sweeps.distributions"])
            assert set(dists) == set(run.params)


def test_optuna_objective_runs_unchanged(place) -> None:  # type: ignore[no-untyped-def]
    config = local(
        "optuna_style",
        place,
        trials=8,
        parameters={"x": {"type": "float", "low": 0.0, "high": 2.0}},
        pruner={"name": "median", "n_startup_trials": 2},
    )
    result = sweeps.run(config, store=place.store)
    assert result.n_finished + result.n_pruned == 8 and result.n_failed == 0
    with place.client() as client:
        for run in check_store(client, result):
            assert set(run.params) == {"x", "kind", "n"}
            assert 0.0 <= float(run.params["x"]) <= 2.0  # the config's range wins over suggest_float's
            assert json.loads(run.tags["user_attr.kind_upper"]) == run.params["kind"].upper()


def test_conditional_space(place) -> None:  # type: ignore[no-untyped-def]
    parameters = {
        "penalty": {"type": "categorical", "choices": ["l2", "elasticnet"]},
        "alpha": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
        "l1_ratio": {"type": "float", "low": 0.0, "high": 1.0, "when": {"penalty": "elasticnet"}},
        "seed": 7,
    }
    config = local("conditional", place, trials=10, parameters=parameters, sampler={"name": "random", "seed": 0})
    result = sweeps.run(config, store=place.store)
    assert result.n_finished == 10
    with place.client() as client:
        runs = check_store(client, result)
    kinds = {r.params["penalty"] for r in runs}
    assert kinds == {"l2", "elasticnet"}
    for run in runs:
        assert run.params["seed"] == "7"
        assert ("l1_ratio" in run.params) == (run.params["penalty"] == "elasticnet")


def test_objective_returning_none_uses_last_logged_value(place) -> None:  # type: ignore[no-untyped-def]
    result = sweeps.run(local("returns_none", place, trials=2, metric=("score", "maximize")), store=place.store)
    with place.client() as client:
        for run in check_store(client, result, metric="score"):
            assert run.metrics["objective.score"].last == pytest.approx(2 * float(run.params["x"]))


def test_multi_objective_gives_a_pareto_set(place) -> None:  # type: ignore[no-untyped-def]
    config = local("multi", place, trials=6, metric=("acc", "maximize"))
    del config["metric"]
    config["metrics"] = [{"name": "acc", "goal": "maximize"}, {"name": "cost", "goal": "minimize"}]
    result = sweeps.run(config, store=place.store)
    assert result.n_finished == 6 and result.pareto
    with place.client() as client:
        check_store(client, result, metric="acc")
    assert result.best is not None and result.best.run_id == result.pareto[0].run_id


def test_failing_trials_keep_their_traceback_and_the_sweep_goes_on(place) -> None:  # type: ignore[no-untyped-def]
    result = sweeps.run(local("flaky", place, trials=4), store=place.store)
    assert result.status == "FINISHED" and (result.n_finished, result.n_failed) == (2, 2)
    assert result.errors[0] == "trial 1: ValueError: boom on trial 1"
    with place.client() as client:
        runs = check_store(client, result)
    assert "Traceback" in runs[1].error and "boom on trial 1" in runs[1].error
    assert runs[1].metrics["started"].last == 1.0  # what it logged before failing is kept


def test_max_failures_stops_the_sweep_failed(place) -> None:  # type: ignore[no-untyped-def]
    config = local("always_fails", place, trials=10, budget={"trials": 10, "max_failures": 2})
    result = sweeps.run(config, store=place.store)
    assert result.status == "FAILED" and result.n_trials == 2
    with place.client() as client:
        check_store(client, result)
        error = client.get_run(result.parent_run_id).error
    assert "max_failures (2) reached" in error and "RuntimeError: this objective always fails" in error


def test_every_trial_failing_fails_the_sweep(place) -> None:  # type: ignore[no-untyped-def]
    result = sweeps.run(local("always_fails", place, trials=3), store=place.store)
    assert result.status == "FAILED" and result.all_failed
    assert "RuntimeError: this objective always fails" in result.first_error


def test_trial_timeout_local(place) -> None:  # type: ignore[no-untyped-def]
    config = local("sleepy", place, trials=2, execution={"trial_timeout_s": 0.5})
    result = sweeps.run(config, store=place.store)
    assert (result.n_failed, result.n_finished) == (1, 1)
    with place.client() as client:
        runs = check_store(client, result)
    assert "timed out after 0.5s" in runs[0].error


def test_pruning_with_report_raising(place) -> None:  # type: ignore[no-untyped-def]
    pruner = {"name": "median", "n_startup_trials": 2}
    config = local("curve", place, trials=10, metric=("val_loss", "minimize"), pruner=pruner)
    result = sweeps.run(config, store=place.store, no_report=True)
    assert result.n_pruned > 0
    with place.client() as client:
        for run in check_store(client, result, metric="val_loss"):
            steps = len(client.get_metric_history(run.run_id, "val_loss"))
            if run.status is RunStatus.PRUNED:
                assert steps < 10
                assert run.metrics["objective.val_loss"].last == run.metrics["intermediate.val_loss"].last
            else:
                assert steps == 10


def test_artifacts_model_and_registration(place) -> None:  # type: ignore[no-untyped-def]
    config = local("with_artifacts", place, trials=3, metric=("x", "maximize"), register={"model": "const"})
    result = sweeps.run(config, store=place.store)
    assert result.registered is not None, result.notes
    with place.client() as client:
        check_store(client, result)
        assert client.get_run(result.parent_run_id).tags["sweeps.registered"] == "models:/const/1"
        info = json.loads(client.artifacts(result.best.run_id).read_bytes("info/params.json"))
        assert info["x"] == pytest.approx(result.best_value)
        model = tracking.load_model("models:/const@challenger", client)
        assert model.predict([[1.0, 2.0]]) == [pytest.approx(result.best_value)]


def test_artifacts_ship_through_the_coordinator(place) -> None:  # type: ignore[no-untyped-def]
    # A worker on another node than the coordinator, with a local artifact root: bytes travel.
    cfg = sweeps.load_config(local("with_artifacts", place, trials=1, metric=("x", "maximize")))
    setup = SweepSetup(cfg, new_sweep_id(cfg.name), place.store, place.artifacts, node_id="head-node")
    coordinator = Coordinator(setup)
    worker = WorkerInfo("w-1", "elsewhere", "other-node")
    assignment = coordinator.next_trial(worker)
    assert assignment is not None and assignment.ship_artifacts
    objective = sweeps.config.resolve_objective(objectives.ref("with_artifacts"))
    coordinator.finish(run_trial(objective, assignment, InProcessChannel(coordinator)))
    final = coordinator.finalize()
    assert final.finished == 1
    with place.client() as client:
        model = tracking.load_model(f"runs:/{assignment.run_id}/model", client)
        assert model.predict([[0.0, 0.0]]) == [pytest.approx(float(assignment.params["x"]))]


def test_resume_after_a_crash_in_process(place) -> None:  # type: ignore[no-untyped-def]
    cfg = sweeps.load_config(local("quadratic", place, trials=6))
    setup = SweepSetup(cfg, new_sweep_id(cfg.name), place.store, place.artifacts)
    coordinator = Coordinator(setup)
    worker = WorkerInfo("w-1", "host")
    objective = sweeps.config.resolve_objective(objectives.ref("quadratic"))
    for _ in range(3):
        assignment = coordinator.next_trial(worker)
        coordinator.finish(run_trial(objective, assignment, InProcessChannel(coordinator)))
    orphan = coordinator.next_trial(worker)  # the "driver" dies while trial 3 runs
    assert orphan is not None and orphan.number == 3
    coordinator._best_tags.shutdown(wait=True)  # the parent's best tags reached the store
    coordinator._client.close()
    del coordinator

    result = sweeps.resume(setup.sweep_id, store=place.store)
    # The budget counts finished work: the crashed trial is closed FAILED and run again (trial 4).
    assert result.status == "FINISHED" and result.n_trials == 7
    assert (result.n_finished, result.n_failed) == (6, 1)
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
    assert runs[3].run_id == orphan.run_id and runs[3].error == "driver stopped before the trial finished"
    assert runs[4].tags["sweeps.rerun_of"] == "3" and runs[4].params == runs[3].params
    assert [r.status for r in runs].count(RunStatus.FINISHED) == 6
    # resuming a finished sweep runs nothing more
    again = sweeps.resume(setup.sweep_id, store=place.store)
    assert again.n_trials == 7


def test_resume_unknown_sweep_is_a_clear_error(place) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sweeps.SweepsError, match="no sweep with id 'nope-00000000'"):
        sweeps.resume("nope-00000000", store=place.store)


def test_budget_timeout_stops_launching(place) -> None:  # type: ignore[no-untyped-def]
    config = local("paced", place, trials=100, budget={"trials": 100, "timeout_s": 1.0})
    result = sweeps.run(config, store=place.store, no_report=True)
    assert result.status == "FINISHED" and 1 <= result.n_trials < 10
    assert result.n_finished == result.n_trials  # the running trial finished; nothing was cut
    with place.client() as client:
        check_store(client, result, metric="loss")


def test_the_tally_breaks_ties_by_trial_number_whatever_the_finishing_order() -> None:
    tally = Tally(maximize=False)
    assert tally.improve(0.5, 3, "run-3")
    assert tally.improve(0.5, 1, "run-1")  # same value, lower trial number: the new best
    assert not tally.improve(0.5, 2, "run-2")
    assert not tally.improve(float("nan"), 0, "run-0")  # NaN comes last
    assert tally.best == (0.5, 1, "run-1")
    assert tally.improve(0.4, 7, "run-7") and tally.best == (0.4, 7, "run-7")


@pytest.mark.postgres
def test_a_password_in_the_configs_store_is_never_recorded(place, postgres_server) -> None:  # type: ignore[no-untyped-def]
    user, password = postgres_server.ensure_password_role()
    database = postgres_server.create_database().rsplit("/", 1)[1]
    with postgres_server.admin_connection() as conn:
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{user}"')
    uri = postgres_server.uri_for(database, user=user, password=password)
    result = sweeps.run(local("quadratic", place, trials=2, store=uri), no_report=True)
    assert result.status == "FINISHED" and password not in repr(result)
    with tracking.connect(uri, place.artifacts) as client:
        parent = client.get_run(result.parent_run_id)
        text = client.artifacts(parent.run_id).read_bytes("config.yaml").decode()
    assert password not in text and yaml.safe_load(text)["store"].startswith(f"postgresql+psycopg://{user}:***@")
    assert parent.params["store"] == yaml.safe_load(text)["store"]
    assert not [v for v in (*parent.params.values(), *parent.tags.values()) if password in v]
    # The masked config still resumes: the store comes from the command line, never from config.yaml.
    assert sweeps.resume(result.sweep_id, store=uri, no_report=True).n_trials == 2
