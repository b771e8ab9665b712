"""`tracking.sklearn`: autologged fits of real estimators, pipelines and searches; `log_model` with registration."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import tracking
from tracking import InvalidParameter, RegistryError, RunStatus, TrackingError
from tracking.fluent import activated
from tracking.models import infer_signature
from tracking.sklearn._patch import patched_classes

IRIS = load_iris(return_X_y=True)
DIABETES = load_diabetes(return_X_y=True)
DIGITS = load_digits(return_X_y=True)
CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tracking.TrackingClient]:
    monkeypatch.setenv("SWEEPS_STORE", "sqlite:///unused.db")
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(tmp_path / "unused"))
    tracking.set_store(f"sqlite:///{tmp_path / 'auto.db'}", str(tmp_path / "artifacts"))
    tracking.set_experiment("auto")
    tracking.sklearn.autolog()
    yield tracking.fluent.default_client()
    tracking.sklearn.autolog(disable=True)
    tracking.fluent.close()


def test_a_classifier_logs_params_metrics_tags_and_its_model(client: tracking.TrackingClient) -> None:
    X, y = IRIS
    model = LogisticRegression(max_iter=500, C=0.5)
    with tracking.start_run(run_name="iris") as run:
        assert model.fit(X, y) is model
    got = client.get_run(run.run_id)
    assert dict(got.params) == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert set(got.metrics) == CLASSIFIER_METRICS
    assert got.metrics["training_score"].last == pytest.approx(model.score(X, y))
    assert got.metrics["training_log_loss"].last > 0
    assert got.tags["estimator_name"] == "LogisticRegression"
    assert got.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    loaded = tracking.load_model(f"runs:/{run.run_id}/model", client)
    assert (loaded.predict(X[:10]) == model.predict(X[:10])).all()
    assert loaded.signature is not None and loaded.metadata.input_example == "input_example.npy"
    assert "sklearn" in loaded.metadata.flavors


def test_a_regressor_on_a_frame_logs_regression_metrics(client: tracking.TrackingClient) -> None:
    frame = load_diabetes(as_frame=True)
    X, y = frame.data, frame.target
    with tracking.start_run() as run:
        Ridge(alpha=0.3).fit(X, y)
    got = client.get_run(run.run_id)
    assert set(got.metrics) == {
        "training_mean_squared_error",
        "training_root_mean_squared_error",
        "training_mean_absolute_error",
        "training_r2_score",
        "training_score",
    }
    mse = got.metrics["training_mean_squared_error"].last
    assert got.metrics["training_root_mean_squared_error"].last == pytest.approx(mse**0.5)
    assert got.metrics["training_r2_score"].last == pytest.approx(got.metrics["training_score"].last)
    loaded = tracking.load_model(f"runs:/{run.run_id}/model", client)
    assert [c.name for c in loaded.signature.inputs.columns][:2] == ["age", "sex"]  # type: ignore[union-attr]


@pytest.mark.parametrize("frame", [False, True], ids=["array", "frame"])
def test_the_signature_is_what_predict_on_the_example_gives(client: tracking.TrackingClient, frame: bool) -> None:
    """Autolog takes the outputs' spec from the training predictions; `infer_signature` calls predict."""
    data = load_digits(as_frame=frame)
    X, y = data.data, data.target
    model = RandomForestClassifier(n_estimators=3, random_state=0)
    with tracking.start_run() as run:
        model.fit(X, y)
    loaded = tracking.load_model(f"runs:/{run.run_id}/model", client)
    assert loaded.signature == infer_signature(model, X[:5])
    assert loaded.signature.outputs.dtype == str(model.predict(X[:5]).dtype)  # type: ignore[union-attr]


def test_fits_again_in_one_run_log_the_next_steps(client: tracking.TrackingClient) -> None:
    X, y = IRIS
    with tracking.start_run() as run:
        for rows in (100, 120, 150):  # the same params each time: params cannot change within a run
            LogisticRegression(max_iter=500).fit(X[-rows:], y[-rows:])
    accuracy = client.get_metric_history(run.run_id, "training_accuracy_score")
    assert [m.step for m in accuracy] == [0, 1, 2]  # none of them dropped as a repeat of step 0
    with tracking.start_run() as other:
        tracking.log_metric("training_score", 0.5)  # step=None by hand first: the fit goes past it
        LogisticRegression(max_iter=500).fit(X, y)
    assert [m.step for m in client.get_metric_history(other.run_id, "training_score")] == [0, 1]


def test_a_pipeline_logs_once_not_per_step(client: tracking.TrackingClient) -> None:
    X, y = DIGITS
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    with tracking.start_run() as run:
        pipeline.fit(X[:600], y[:600])
    got = client.get_run(run.run_id)
    assert got.tags["estimator_name"] == "Pipeline"
    assert got.params["logisticregression__max_iter"] == "300" and got.params["standardscaler__with_mean"] == "True"
    # Every metric has one point: the steps' own fits (and their score calls) did not log.
    assert all(len(client.get_metric_history(run.run_id, k)) == 1 for k in got.metrics)
    assert client.search_runs("auto").height == 1  # no run of its own for any step


def test_grid_search_logs_best_results_and_its_best_candidates_as_children(client: tracking.TrackingClient) -> None:
    X, y = IRIS
    grid = {"max_depth": [1, 2, 3, 4], "min_samples_leaf": [1, 5]}
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3)
    with tracking.start_run(run_name="grid") as run:
        search.fit(X, y)
    got = client.get_run(run.run_id)
    assert {f"best_{k}": str(v) for k, v in search.best_params_.items()}.items() <= dict(got.params).items()
    assert got.params["estimator__random_state"] == "0"
    assert got.metrics["best_cv_score"].last == pytest.approx(search.best_score_)
    assert got.tags["estimator_name"] == "GridSearchCV"
    table = pd.read_csv(client.download_artifacts(run.run_id, "cv_results.csv", Path(run.artifact_uri).parent / "dl"))
    assert len(table) == 8 and "mean_test_score" in table
    children = client.child_runs(run.run_id)
    assert len(children) == 5  # max_tuning_runs
    ranks = search.cv_results_["rank_test_score"]
    best_five = sorted(range(8), key=lambda i: (ranks[i], i))[:5]
    assert [c.tags["candidate_index"] for c in children] == [str(i) for i in best_five]
    for child in children:
        i = int(child.tags["candidate_index"])
        assert dict(child.params) == {k: str(v) for k, v in search.cv_results_["params"][i].items()}
        assert child.metrics["mean_test_score"].last == pytest.approx(search.cv_results_["mean_test_score"][i])
        assert child.status is RunStatus.FINISHED
    assert client.search_runs("auto").height == 6  # the search's inner fits made no runs


def test_randomized_search_with_every_candidate(client: tracking.TrackingClient) -> None:
    tracking.sklearn.autolog(max_tuning_runs=None, log_models=False)
    X, y = DIABETES
    search = RandomizedSearchCV(Ridge(), {"alpha": np.logspace(-3, 2, 20)}, n_iter=6, cv=3, random_state=0)
    with tracking.start_run() as run:
        search.fit(X, y)
    assert len(client.child_runs(run.run_id)) == 6
    assert [a.path for a in client.list_artifacts(run.run_id)] == ["cv_results.csv"]  # no model


def test_without_an_active_run_each_fit_gets_its_own(client: tracking.TrackingClient) -> None:
    X, y = IRIS
    LogisticRegression(max_iter=500).fit(X, y)
    DecisionTreeClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError):
        LogisticRegression().fit(X, y[:-1])  # the user's own error is raised, unchanged
    runs = client.search_runs("auto", order_by=["attributes.start_time asc"])
    assert runs["status"].to_list() == ["FINISHED", "FINISHED", "FAILED"]
    assert [client.get_run(r).tags["estimator_name"] for r in runs["run_id"]] == [
        "LogisticRegression",
        "DecisionTreeClassifier",
        "LogisticRegression",
    ]
    assert tracking.active_run() is None


def test_disable_restores_scikit_learns_own_fit(client: tracking.TrackingClient) -> None:
    assert LogisticRegression in patched_classes()
    original = LogisticRegression.fit.__tracking_autolog_original__  # type: ignore[attr-defined]
    tracking.sklearn.autolog(disable=True)
    assert patched_classes() == frozenset()
    assert LogisticRegression.fit is original
    with tracking.start_run() as run:
        LogisticRegression(max_iter=500).fit(*IRIS)
    got = client.get_run(run.run_id)
    assert (dict(got.params), dict(got.metrics)) == ({}, {})


class Broken:
    """A target whose every write fails, as a store that went away would."""

    run_id = "broken"

    def _fail(self, *args: object, **kwargs: object) -> str:
        raise TrackingError("store is gone")

    log_params = log_metrics = set_tags = log_artifact = log_dict = log_text = _fail
    log_figure = log_image = log_table = log_model = _fail


def test_a_logging_failure_is_a_warning_and_the_fit_still_happens(client: tracking.TrackingClient) -> None:
    X, y = IRIS
    model = LogisticRegression(max_iter=500)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with activated(Broken()):  # type: ignore[arg-type]
            model.fit(X, y)
    assert model.score(X, y) > 0.9
    messages = [str(w.message) for w in caught if "tracking.sklearn.autolog" in str(w.message)]
    assert len(messages) == 3, messages  # params and tags, metrics, model
    assert all("store is gone" in m and "the fit itself is unaffected" in m for m in messages)
    tracking.sklearn.autolog(silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with activated(Broken()):  # type: ignore[arg-type]
            LogisticRegression(max_iter=500).fit(X, y)


def test_metrics_written_in_the_background_are_there_when_the_run_is_read_or_ends(
    client: tracking.TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = IRIS
    with tracking.start_run() as run:
        LogisticRegression(max_iter=500).fit(X, y)
        assert set(run.info.metrics) == CLASSIFIER_METRICS  # `info` waits for the deferred write
        LogisticRegression(max_iter=500).fit(X[:120], y[:120])
    assert len(client.get_metric_history(run.run_id, "training_score")) == 2  # the end waited too

    def refused(self: object, *args: object, **kwargs: object) -> None:
        raise TrackingError("store is gone")

    monkeypatch.setattr(tracking.ActiveRun, "log_metrics", refused)
    warned = pytest.warns(UserWarning, match=r"could not log the training metrics of .*store is gone")
    with warned as caught, tracking.start_run() as failing:
        LogisticRegression(max_iter=500).fit(X, y)
    assert len([w for w in caught if "training metrics" in str(w.message)]) == 1
    assert client.get_run(failing.run_id).status is RunStatus.FINISHED  # ended after the warning, as a fit


def test_the_model_is_logged_as_the_fit_left_it_whatever_happens_after(client: tracking.TrackingClient) -> None:
    """The model is written in the background, from a snapshot taken when fit returns."""
    X, y = IRIS
    model = LogisticRegression(max_iter=500)
    data = X.copy()
    with tracking.start_run() as run:
        model.fit(data, y)
        expected = model.predict_proba(X)
        model.coef_[:] = 0.0  # changed in place before the write could have happened
        data[:] = -1.0
    loaded = tracking.load_model(f"runs:/{run.run_id}/model", client)
    np.testing.assert_array_equal(loaded.raw.predict_proba(X), expected)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.input_example(), X[:5])


def _fit_in_a_run(done: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with tracking.start_run() as run:
        LogisticRegression(max_iter=500).fit(*IRIS)
    done.put(run.run_id)


def test_a_forked_child_writes_in_the_background_of_its_own(client: tracking.TrackingClient) -> None:
    with tracking.start_run():
        LogisticRegression(max_iter=500).fit(*IRIS)  # the parent's writer thread is running now
    tracking.fluent.close()  # the child opens a client of its own (a SQLite connection is not shared)
    fork = multiprocessing.get_context("fork")
    done = fork.Queue()
    child = fork.Process(target=_fit_in_a_run, args=(done,), daemon=True)  # killed with the test if it hangs
    child.start()
    run_id = done.get(timeout=60)  # no answer: the child waits for a writer thread it does not have
    child.join(timeout=60)
    assert child.exitcode == 0
    assert set(tracking.fluent.default_client().get_run(run_id).metrics) == CLASSIFIER_METRICS


def test_a_script_that_exits_without_end_run_keeps_its_autologged_metrics(tmp_path: Path) -> None:
    script = f"""
import tracking
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
tracking.set_store("sqlite:///{tmp_path / "exit.db"}", "{tmp_path / "artifacts"}")
tracking.sklearn.autolog(log_models=False)
run = tracking.start_run()
LogisticRegression(max_iter=500).fit(*load_iris(return_X_y=True))
print(run.run_id)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    with tracking.connect(f"sqlite:///{tmp_path / 'exit.db'}") as reader:
        got = reader.get_run(done.stdout.split()[-1])
    assert got.status is RunStatus.FINISHED and set(got.metrics) == CLASSIFIER_METRICS


def test_log_model_registers_versions(client: tracking.TrackingClient) -> None:
    tracking.sklearn.autolog(disable=True)
    X, y = DIGITS[0][:400] / 16, DIGITS[1][:400]
    model = LogisticRegression(max_iter=500).fit(X, y)
    with tracking.start_run() as run:
        first = tracking.sklearn.log_model(model, "model", input_example=X[:5], registered_model_name="digits")
        second = tracking.sklearn.log_model(model, artifact_path="again", registered_model_name="digits")
        plain = tracking.sklearn.log_model(model, "unregistered")
    assert (first.model_uri, first.registered_model_version) == (f"runs:/{run.run_id}/model", 1)
    assert (second.artifact_path, second.registered_model_version) == ("again", 2)
    assert plain.registered_model_version is None
    versions = client.registry.list_model_versions("digits")
    assert [(v.version, v.source) for v in versions] == [(1, first.model_uri), (2, second.model_uri)]
    raw = tracking.sklearn.load_model("models:/digits/1")
    assert isinstance(raw, LogisticRegression) and (raw.predict(X[:5]) == model.predict(X[:5])).all()


def test_log_model_refuses_bad_input_before_storing_anything(client: tracking.TrackingClient) -> None:
    with tracking.start_run() as run:
        with pytest.raises(RegistryError, match="invalid model name"):
            tracking.sklearn.log_model(LogisticRegression(max_iter=500).fit(*IRIS), registered_model_name="no/slash")
        with pytest.raises(tracking.ModelError, match="not a scikit-learn estimator"):
            tracking.sklearn.log_model(Predictor(), "model")
        with pytest.raises(InvalidParameter, match="pass one of them"):
            tracking.sklearn.log_model(LogisticRegression(), "a", artifact_path="b")
    assert [a.path for a in client.list_artifacts(run.run_id)] == ["model"]  # only the autologged fit's


class Predictor:
    def predict(self, data: Mapping[str, object]) -> list[int]:
        return [0]


class _OwnPredictForest(RandomForestClassifier):
    """A forest whose own ``predict`` is not the argmax of its probabilities: it must be called."""

    def predict(self, X: object) -> np.ndarray:
        return np.full(len(X), self.classes_[0])  # type: ignore[arg-type]


def sklearn_classifier_metrics(model: object, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    from sklearn import metrics

    predicted, proba = model.predict(X), model.predict_proba(X)  # type: ignore[attr-defined]
    out = {
        "training_accuracy_score": metrics.accuracy_score(y, predicted, sample_weight=w),
        "training_log_loss": metrics.log_loss(y, proba, labels=model.classes_, sample_weight=w),  # type: ignore[attr-defined]
    }
    for name in ("precision", "recall", "f1"):
        score = getattr(metrics, f"{name}_score")
        out[f"training_{name}_score"] = score(y, predicted, average="weighted", zero_division=0, sample_weight=w)
    if w is None:
        binary = proba.shape[1] == 2
        out["training_roc_auc"] = metrics.roc_auc_score(y, proba[:, 1] if binary else proba, multi_class="ovr")
    return out


@pytest.mark.parametrize(
    ("model", "data", "weighted"),
    [
        (LogisticRegression(max_iter=500), "iris", False),
        (DecisionTreeClassifier(max_depth=3, random_state=0), "iris", True),
        (LogisticRegression(max_iter=500), "breast_cancer", False),
        (DecisionTreeClassifier(max_depth=2, random_state=0), "breast_cancer", True),
        # Forests: one predict_proba serves predict too; 10 classes for the one-vs-rest AUC.
        (RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0), "digits", False),
        (ExtraTreesClassifier(n_estimators=3, max_depth=3, random_state=0), "breast_cancer", True),
        (_OwnPredictForest(n_estimators=3, max_depth=3, random_state=0), "iris", False),
    ],
    ids=[
        "logreg-iris",
        "tree-iris-weighted",
        "logreg-binary",
        "tree-binary-weighted",
        "forest-digits",
        "extra-trees-binary-weighted",
        "forest-own-predict",
    ],
)
def test_classifier_metrics_equal_scikit_learns(model: object, data: str, weighted: bool) -> None:
    from sklearn.datasets import load_breast_cancer

    from tracking.sklearn._metrics import training_metrics

    X, y = {"iris": IRIS, "digits": DIGITS}.get(data) or load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)  # converges quickly
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    model.fit(X, y, sample_weight=w)  # type: ignore[attr-defined]
    ours = training_metrics(model, X, y, w)
    expected = sklearn_classifier_metrics(model, X, y, w)
    expected["training_score"] = model.score(X, y, sample_weight=w)  # type: ignore[attr-defined]
    assert set(ours) == set(expected)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("weighted", [False, True])
def test_regressor_metrics_equal_scikit_learns(weighted: bool) -> None:
    from sklearn import metrics

    from tracking.sklearn._metrics import training_metrics

    X, y = DIABETES
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y)) if weighted else None
    model = Ridge(alpha=0.5).fit(X, y, sample_weight=w)
    predicted = model.predict(X)
    ours = training_metrics(model, X, y, w)
    expected = {
        "training_mean_squared_error": metrics.mean_squared_error(y, predicted, sample_weight=w),
        "training_root_mean_squared_error": metrics.root_mean_squared_error(y, predicted, sample_weight=w),
        "training_mean_absolute_error": metrics.mean_absolute_error(y, predicted, sample_weight=w),
        "training_r2_score": metrics.r2_score(y, predicted, sample_weight=w),
        "training_score": model.score(X, y, sample_weight=w),
    }
    assert set(ours) == set(expected)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, rel=1e-9), key
