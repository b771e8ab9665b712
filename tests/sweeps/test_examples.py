"""The example objectives and the ready-to-run configs: valid, fast, and complete end to end."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from sweeps import TrialPruned
from sweeps.cli.main import main
from sweeps.config import FloatParam, load_config, resolve_objective
from sweeps.engine import SweepResult
from sweeps.examples import breast_cancer, diabetes, digits, multi_objective
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CONFIG_NAMES = ["digits-sgd", "breast-cancer-gb", "diabetes-regression", "digits-multi-objective"]


class FakeTrial:
    """The slice of `sweeps.Trial` the examples use, recording calls; prunes at `prune_at`."""

    def __init__(self, params: Mapping[str, object], prune_at: int | None = None) -> None:
        self.params = dict(params)
        self.prune_at = prune_at
        self.metrics: dict[str, dict[int, float]] = {}
        self.reports: list[tuple[int, float]] = []
        self.tags: dict[str, str] = {}
        self.dicts: dict[str, object] = {}
        self.models: list[tuple[object, object]] = []

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for key, value in metrics.items():
            assert isinstance(value, float) and math.isfinite(value), (key, value)
            self.metrics.setdefault(key, {})[step if step is not None else 0] = value

    def report(self, value: float, step: int) -> None:
        self.reports.append((step, value))
        if self.prune_at is not None and len(self.reports) > self.prune_at:
            raise TrialPruned()

    def log_model(self, model: object, input_example: object = None) -> None:
        self.models.append((model, input_example))

    def log_dict(self, obj: object, name: str) -> None:
        self.dicts[name] = obj

    def set_tag(self, key: str, value: object) -> None:
        self.tags[key] = str(value)


def run_objective(
    fn: Callable[[FakeTrial], object], params: Mapping[str, object], **kw: object
) -> tuple[object, FakeTrial]:
    trial = FakeTrial(params, **kw)  # type: ignore[arg-type]
    return fn(trial), trial


def assert_model_logged(trial: FakeTrial) -> None:
    ((model, example),) = trial.models
    assert callable(getattr(model, "predict", None))
    assert example is not None and len(example) == 5  # type: ignore[arg-type]
    assert len(model.predict(example)) == 5  # type: ignore[attr-defined]


# -- configs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_config_is_valid_and_ready_to_run(name: str) -> None:
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert cfg.name == name
    assert callable(resolve_objective(cfg.objective, cfg.base_dir))
    assert cfg.register is not None and cfg.register.alias == "challenger"
    assert cfg.report.output == f"sweep-reports/{name}.html"
    assert cfg.tags and cfg.execution.backend == "ray"
    assert cfg.budget.trials >= 20 and cfg.budget.timeout_s is not None


def test_every_config_in_the_folder_is_covered() -> None:
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(CONFIG_NAMES)


def test_digits_config_has_a_conditional_param_and_a_pruner() -> None:
    cfg = load_config(CONFIGS / "digits-sgd.yaml")
    l1_ratio = cfg.param_map["l1_ratio"]
    assert isinstance(l1_ratio, FloatParam)
    assert [(c.param, c.values) for c in l1_ratio.when] == [("penalty", ("elasticnet",))]
    assert cfg.pruner.name == "median"


def test_multi_objective_config_has_two_metrics() -> None:
    cfg = load_config(CONFIGS / "digits-multi-objective.yaml")
    assert [(m.name, m.goal) for m in cfg.metrics] == [("val_accuracy", "maximize"), ("fit_seconds", "minimize")]


# -- objectives, called directly -----------------------------------------------------------------


@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_digits_sgd_logs_each_epoch_and_the_model(loss: str) -> None:
    params = {"alpha": 1e-4, "penalty": "elasticnet", "l1_ratio": 0.3, "epochs": 4, "loss": loss, "seed": 0}
    acc, trial = run_objective(digits.train_sgd, params)
    assert 0.8 < acc <= 1.0  # type: ignore[operator]
    for key in ("train_loss", "train_accuracy", "val_accuracy"):
        assert sorted(trial.metrics[key]) == [0, 1, 2, 3]
    assert [s for s, _ in trial.reports] == [0, 1, 2, 3]
    assert trial.metrics["val_accuracy"][3] == acc
    assert_model_logged(trial)


def test_digits_sgd_without_l1_ratio_and_pruned_mid_way() -> None:
    with pytest.raises(TrialPruned):
        run_objective(digits.train_sgd, {"alpha": 1e-3, "penalty": "l2", "epochs": 10}, prune_at=2)


def test_digits_mlp_variant() -> None:
    acc, trial = run_objective(digits.train_mlp, {"hidden_units": 32, "learning_rate_init": 0.01, "epochs": 3})
    assert 0.5 < acc <= 1.0  # type: ignore[operator]
    assert sorted(trial.metrics["train_loss"]) == [0, 1, 2]
    assert_model_logged(trial)


@pytest.mark.parametrize("fn", [breast_cancer.train_gb, breast_cancer.train_forest])
def test_breast_cancer_logs_feature_importances(fn: Callable[[FakeTrial], float]) -> None:
    auc, trial = run_objective(fn, {"n_estimators": 20, "max_depth": 2, "max_features": "all"})
    assert 0.9 < auc <= 1.0  # type: ignore[operator]
    importances = trial.dicts["feature_importances.json"]["feature_importances"]  # type: ignore[index]
    assert len(importances) == 30
    assert importances[0]["importance"] >= importances[-1]["importance"]
    assert trial.tags["top_feature"] == importances[0]["feature"]
    assert_model_logged(trial)


def test_breast_cancer_gb_curves_are_step_wise() -> None:
    _, trial = run_objective(breast_cancer.train_gb, {"n_estimators": 12})
    assert sorted(trial.metrics["val_log_loss"]) == list(range(12))
    assert sorted(trial.metrics["val_accuracy"]) == list(range(12))


def test_diabetes_gbr_grows_in_chunks_reports_rmse_and_can_be_pruned() -> None:
    rmse, trial = run_objective(diabetes.train_gbr, {"n_estimators": 30, "learning_rate": 0.1})
    assert 40 < rmse < 90  # type: ignore[operator]
    assert sorted(trial.metrics["val_rmse"]) == [0, 1, 2]
    assert [s for s, _ in trial.reports] == [0, 1, 2]
    assert [trial.metrics["trees"][s] for s in range(3)] == [10.0, 20.0, 30.0]
    assert_model_logged(trial)
    with pytest.raises(TrialPruned):
        run_objective(diabetes.train_gbr, {"n_estimators": 100}, prune_at=1)


def test_diabetes_elasticnet_variant() -> None:
    rmse, trial = run_objective(diabetes.train_elasticnet, {"alpha": 0.1, "l1_ratio": 0.5})
    assert 40 < rmse < 90  # type: ignore[operator]
    assert_model_logged(trial)


def test_multi_objective_returns_both_metrics() -> None:
    values, trial = run_objective(multi_objective.accuracy_vs_time, {"hidden_units": 16, "epochs": 5})
    assert set(values) == {"val_accuracy", "fit_seconds"}  # type: ignore[arg-type]
    assert 0 < values["fit_seconds"] < 30 and 0 < values["val_accuracy"] <= 1  # type: ignore[index]
    assert sorted(trial.metrics["train_loss"]) == list(range(5))
    assert_model_logged(trial)


# -- end to end through `sweeps run` ---------------------------------------------------------------


def run_example(
    capsys: pytest.CaptureFixture[str], place: SweepPlace, name: str, trials: int, *extra: str
) -> tuple[str, SweepResult]:
    """`sweeps run configs/<name>.yaml` with a small budget; returns stdout and the stored outcome."""
    code = main(
        [
            "run",
            str(CONFIGS / f"{name}.yaml"),
            "--store",
            place.store,
            "--set",
            f"budget.trials={trials}",
            "--set",
            f"artifacts={place.artifacts}",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    with place.client() as client:
        parents = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert parents.height == 1
        parent = client.get_run(parents["run_id"][0])
        children = client.child_runs(parent.run_id)
    counts = {s: sum(r.status.value == s for r in children) for s in ("FINISHED", "PRUNED", "FAILED", "KILLED")}
    result = SweepResult(
        sweep_id=parent.tags["sweeps.sweep_id"],
        parent_run_id=parent.run_id,
        status=parent.status.value,
        best=None,
        n_trials=len(children),
        n_finished=counts["FINISHED"],
        n_pruned=counts["PRUNED"],
        n_failed=counts["FAILED"],
        n_killed=counts["KILLED"],
    )
    return out, result


def check_example(place: SweepPlace, name: str, result: SweepResult, trials: int) -> None:
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert result.status == "FINISHED" and result.n_trials == trials
    assert result.n_finished + result.n_pruned + result.n_failed + result.n_killed == trials
    assert result.n_failed == 0 and result.n_finished >= 1
    with place.client() as client:
        children = check_store(client, result, metric=cfg.metric.name)
        for run in children:
            for metric in cfg.metrics:
                assert f"objective.{metric.name}" in run.metrics or run.status.value == "FAILED"
        assert cfg.register is not None
        version = client.registry.get_version_by_alias(cfg.register.model, "challenger")
        assert version.run_id in {r.run_id for r in children}
        assert "model" in {a.path for a in client.list_artifacts(version.run_id)}
        parent = client.get_run(result.parent_run_id)
        assert parent.tags["sweeps.registered"] == f"models:/{cfg.register.model}/{version.version}"


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_example_config_runs_end_to_end_locally(
    capsys: pytest.CaptureFixture[str], place: SweepPlace, name: str
) -> None:
    out, result = run_example(capsys, place, name, 3, "--set", "execution.backend=local", "--no-report")
    check_example(place, name, result, 3)
    assert f"sweep {result.sweep_id} FINISHED: 3 trials" in out and "registered: models:/" in out


def _package_tree() -> set[Path]:
    """Every file of the installed packages' source folders, bytecode caches aside."""
    root = CONFIGS.parent
    return {
        p.relative_to(root)
        for package in ("sweeps", "tracking", "reports")
        for p in (root / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_example_report_is_written_under_sweep_reports_and_nothing_in_the_package_tree(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    before = _package_tree()
    out, result = run_example(capsys, place, "diabetes-regression", 3, "--set", "execution.backend=local")
    check_example(place, "diabetes-regression", result, 3)
    report = place.root / "sweep-reports" / "diabetes-regression.html"
    assert report.is_file() and report.stat().st_size > 1000
    assert "report:     sweep-reports/diabetes-regression.html" in out
    # A folder named like a package is never created where the sweep ran...
    assert not (place.root / "reports").exists()
    # ...and nothing was written into the packages' own folders.
    assert _package_tree() == before


@pytest.mark.usefixtures("ray_session")
def test_digits_example_on_ray(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    out, result = run_example(capsys, place, "digits-sgd", 4, "--no-report")
    check_example(place, "digits-sgd", result, 4)
    assert "ray @ local x2" in out
