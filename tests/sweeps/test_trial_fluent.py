"""Inside a sweep objective the fluent calls and autologging write to the trial's child run, through the trial."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from optuna.distributions import BaseDistribution
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import sweeps
import tracking
from sweeps import Trial
from sweeps.engine.messages import Outbox, PruningGate, TrialAssignment
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import InvalidParameter, RunStatus
from tracking.point_block import PointBlock

X, Y = load_iris(return_X_y=True)


class Recorder:
    """A TrialChannel that keeps every outbox it is sent."""

    def __init__(self) -> None:
        self.outboxes: list[Outbox] = []

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        raise AssertionError("no define-by-run here")

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        self.outboxes.append(outbox)
        return False

    def send(self, number: int, outbox: Outbox) -> None:
        self.outboxes.append(outbox)

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        raise AssertionError("artifacts are written in place in these tests")


@pytest.fixture
def no_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt of the fluent layer to open its own store fails: a worker must never open one."""
    monkeypatch.setenv("SWEEPS_STORE", "nope://no-store-in-a-worker")
    tracking.fluent.close()
    yield
    tracking.sklearn.autolog(disable=True)
    tracking.fluent.close()


def make_trial(tmp_path: Path, **params: object) -> tuple[Trial, Recorder]:
    assignment = TrialAssignment(
        number=3,
        run_id="run-3",
        params=params,
        attempt=0,
        artifact_uri=str(tmp_path / "run-3"),
        ship_artifacts=False,
        pruning=PruningGate(),
        metric_names=("loss",),
    )
    channel = Recorder()
    return Trial(assignment, channel, flush_interval_s=3600), channel


def points(outboxes: list[Outbox]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for box in outboxes:
        if isinstance(box.block, PointBlock):
            for p in box.block.to_points():
                out.setdefault(p.key, []).append((p.step, p.value))
    return out


def test_fluent_calls_in_an_objective_go_to_the_trial(tmp_path: Path, no_store: None) -> None:
    trial, channel = make_trial(tmp_path, alpha=0.1)

    def objective(t: Trial) -> float:
        assert tracking.active_run() is not None and tracking.active_run().run_id == "run-3"  # type: ignore[union-attr]
        tracking.log_param("extra", "yes")
        tracking.log_metric("loss", 0.5, step=0)
        tracking.log_metrics({"loss": 0.25, "acc": 0.9}, step=1)
        tracking.set_tag("note", "fluent")
        tracking.log_dict({"a": 1}, "report.json")
        fig = plt.figure(figsize=(1, 1), dpi=10)
        tracking.log_figure(fig, "fig.png")
        plt.close(fig)
        tracking.log_image(np.zeros((2, 2), np.uint8), "img.png")
        tracking.log_table(pl.DataFrame({"a": [1, 2]}), "table.csv")
        with tracking.start_run(run_name="nested-in-objective") as run:
            assert run.run_id == "run-3"  # the trial itself: no store to make a child run in
            tracking.log_metric("inner", 1.0)
        return 0.25

    assert trial.run_objective(objective) == 0.25
    assert tracking.active_run() is None
    outbox = trial.final_outbox((0.25,))
    got = points([*channel.outboxes, outbox])
    assert got["loss"] == [(0, 0.5), (1, 0.25)] and got["acc"] == [(1, 0.9)] and got["inner"] == [(0, 1.0)]
    assert got["objective.loss"] == [(0, 0.25)]
    assert dict(outbox.params) == {"extra": "yes"} and outbox.tags["note"] == "fluent"
    folder = tmp_path / "run-3"
    assert json.loads((folder / "report.json").read_text()) == {"a": 1}
    assert (folder / "fig.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "img.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "table.csv").read_text().splitlines() == ["a", "1", "2"]


def test_the_active_run_is_restored_when_the_objective_fails(tmp_path: Path, no_store: None) -> None:
    trial, _ = make_trial(tmp_path)

    def objective(t: Trial) -> float:
        raise RuntimeError("bad objective")

    with pytest.raises(RuntimeError, match="bad objective"):
        trial.run_objective(objective)
    assert tracking.active_run() is None
    with pytest.raises(InvalidParameter, match="needs an active run"):
        tracking.log_metric("after", 1.0)  # the trial is no longer a target


def test_autolog_in_an_objective_logs_through_the_trial(tmp_path: Path, no_store: None) -> None:
    trial, channel = make_trial(tmp_path, C=0.5)
    tracking.sklearn.autolog()

    def objective(t: Trial) -> float:
        model = LogisticRegression(C=float(t.params["C"]), max_iter=500).fit(X, Y)
        return 1.0 - float(model.score(X, Y))

    loss = trial.run_objective(objective)
    outbox = trial.final_outbox((float(loss),))  # type: ignore[arg-type]
    got = points([*channel.outboxes, outbox])
    assert got["training_score"] == [(0, pytest.approx(1.0 - float(loss)))]  # type: ignore[arg-type]
    assert outbox.params["max_iter"] == "500" and "C" not in outbox.params  # C was the trial's own param already
    assert outbox.tags["estimator_name"] == "LogisticRegression"
    info = json.loads((tmp_path / "run-3" / "model" / "model.json").read_text())
    assert "sklearn" in info["flavors"] and info["signature"] is not None


def test_registering_from_an_objective_points_to_the_config(tmp_path: Path, no_store: None) -> None:
    trial, _ = make_trial(tmp_path)

    def objective(t: Trial) -> float:
        tracking.sklearn.log_model(LogisticRegression(max_iter=500).fit(X, Y), registered_model_name="iris")
        return 0.0

    with pytest.raises(InvalidParameter, match="config's `register:` section"):
        trial.run_objective(objective)
    assert not (tmp_path / "run-3" / "model").exists()


def fluent_objective(trial: Trial) -> float:
    """A sweep objective written against the fluent API only (referenced by path by the test below)."""
    tracking.sklearn.autolog()
    model = LogisticRegression(C=float(trial.params["x"]) + 0.01, max_iter=500).fit(X, Y)
    loss = 1.0 - float(model.score(X, Y))
    tracking.log_metric("loss", loss, step=0)
    tracking.set_tag("written_by", "fluent")
    return loss


def test_a_local_sweep_of_a_fluent_objective_stores_it_in_the_child_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_store: None
) -> None:
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'sweeps.db'}"
    config = sweep_config("quadratic", str(tmp_path / "artifacts"), trials=2, backend="local")
    config["objective"] = f"{Path(__file__).resolve()}:fluent_objective"
    result = sweeps.run(config, store=store)
    assert result.n_finished == 2, result.notes
    with tracking.connect(store, str(tmp_path / "artifacts")) as client:
        for run in check_store(client, result, metric="loss"):
            assert run.status is RunStatus.FINISHED
            assert run.tags["written_by"] == "fluent" and run.tags["estimator_name"] == "LogisticRegression"
            assert "training_accuracy_score" in run.metrics and run.params["max_iter"] == "500"
            assert tracking.load_model(f"runs:/{run.run_id}/model", client).predict(X[:3]).shape == (3,)
