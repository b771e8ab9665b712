"""The fluent layer (SPEC §12): the active run per thread / task over one default client, and MLflow's day-one flow."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import tracking
from tracking import InvalidArtifactPath, InvalidParameter, RunStatus
from tracking.fluent import activated


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh default store; $SWEEPS_STORE / $SWEEPS_ARTIFACTS (which set_store writes) restored after."""
    uri = f"sqlite:///{tmp_path / 'fluent.db'}"
    monkeypatch.setenv("SWEEPS_STORE", "sqlite:///unused.db")
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(tmp_path / "unused"))
    monkeypatch.chdir(tmp_path)
    tracking.set_store(uri, str(tmp_path / "artifacts"))
    yield uri
    tracking.sklearn.autolog(disable=True)
    tracking.fluent.close()


def client() -> tracking.TrackingClient:
    return tracking.fluent.default_client()


OUTSIDE_A_RUN: list[tuple[str, Callable[[], object]]] = [
    ("log_param", lambda: tracking.log_param("a", 1)),
    ("log_params", lambda: tracking.log_params({"a": 1})),
    ("log_metric", lambda: tracking.log_metric("m", 1.0)),
    ("log_metrics", lambda: tracking.log_metrics({"m": 1.0})),
    ("set_tag", lambda: tracking.set_tag("t", "v")),
    ("set_tags", lambda: tracking.set_tags({"t": "v"})),
    ("log_artifact", lambda: tracking.log_artifact("x.txt")),
    ("log_dict", lambda: tracking.log_dict({"a": 1}, "a.json")),
    ("log_text", lambda: tracking.log_text("hi", "a.txt")),
    ("log_figure", lambda: tracking.log_figure(object(), "f.png")),
    ("log_image", lambda: tracking.log_image(np.zeros((2, 2), np.uint8), "i.png")),
    ("log_table", lambda: tracking.log_table(object(), "t.json")),
    ("sklearn.log_model", lambda: tracking.sklearn.log_model(LogisticRegression(), "model")),
]


@pytest.mark.parametrize(("call", "log"), OUTSIDE_A_RUN, ids=[c for c, _ in OUTSIDE_A_RUN])
def test_logging_outside_a_run_names_start_run_and_stores_nothing(
    store: str, call: str, log: Callable[[], object]
) -> None:
    with pytest.raises(InvalidParameter, match=rf"tracking\.{call}\(\) needs an active run.*tracking\.start_run"):
        log()
    assert client().list_experiments() == [] or client().search_runs("Default").height == 0


def test_a_run_records_what_the_fluent_calls_log(store: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    tracking.set_experiment("digits")
    with tracking.start_run(run_name="baseline", tags={"team": "vision"}) as run:
        assert tracking.active_run() is run
        assert tracking.log_param("alpha", 1e-4) == 1e-4
        tracking.log_params({"penalty": "l2"})
        tracking.log_metric("loss", 0.5, step=1)
        tracking.log_metric("loss", 0.3)  # the next step
        tracking.log_metrics({"acc": 0.9}, step=3)
        tracking.set_tag("stage", "dev")
        tracking.set_tags({"owner": "ana"})
        assert tracking.log_artifact(tmp_path / "notes.txt") == "notes.txt"
        assert tracking.log_artifact(tmp_path / "notes.txt", artifact_path="docs") == "docs/notes.txt"
        tracking.log_artifacts(folder, artifact_path="plots")
        tracking.log_artifacts(folder)
        tracking.log_dict({"b": [1, 2]}, "report.json")
        tracking.log_dict({"b": [1, 2]}, "config.yaml")
        tracking.log_text("some text", "notes/readme.md")
    assert tracking.active_run() is None
    got = client().get_run(run.run_id)
    assert (got.status, got.name) == (RunStatus.FINISHED, "baseline")
    assert client().get_experiment(got.experiment_id).name == "digits"
    assert dict(got.params) == {"alpha": "0.0001", "penalty": "l2"}
    assert {k: got.tags[k] for k in ("team", "stage", "owner")} == {"team": "vision", "stage": "dev", "owner": "ana"}
    assert [(m.step, m.value) for m in client().get_metric_history(run.run_id, "loss")] == [(1, 0.5), (2, 0.3)]
    assert [(m.step, m.value) for m in client().get_metric_history(run.run_id, "acc")] == [(3, 0.9)]
    art = client().artifacts(run.run_id)
    assert art.read_bytes("notes.txt") == art.read_bytes("docs/notes.txt") == b"hello"
    assert (art.read_bytes("plots/a.txt"), art.read_bytes("b.txt")) == (b"a", b"b")
    assert yaml.safe_load(art.read_bytes("config.yaml")) == {"b": [1, 2]}
    assert art.read_bytes("notes/readme.md") == b"some text"
    assert b'"b"' in art.read_bytes("report.json")


def test_nested_blocks_make_child_runs_in_the_parents_experiment(store: str) -> None:
    with tracking.start_run(experiment="outer", name="parent") as parent:
        with tracking.start_run(run_name="child", nested=True) as child:
            assert tracking.active_run() is child
            tracking.log_metric("m", 1.0)
        assert tracking.active_run() is parent
        tracking.log_metric("m", 2.0)
        with tracking.start_run(run_name="other", experiment="elsewhere", parent=None) as second:
            pass
    found, _ = client().child_runs(parent.run_id)  # in start order
    assert (found.run_id, found.name, found.status) == (child.run_id, "child", RunStatus.FINISHED)
    assert found.experiment_id == client().get_run(parent.run_id).experiment_id
    other = client().get_run(second.run_id)
    assert other.parent_run_id == parent.run_id  # the active run is the parent even in another experiment
    assert client().get_experiment(other.experiment_id).name == "elsewhere"
    assert client().get_metric_history(child.run_id, "m")[0].value == 1.0
    assert client().get_metric_history(parent.run_id, "m")[0].value == 2.0


def test_parent_by_id_and_run_name_versus_name(store: str) -> None:
    with tracking.start_run(name="root") as root:
        pass
    with tracking.start_run(parent=root.run_id, run_name="late-child") as child:
        pass
    assert client().get_run(child.run_id).parent_run_id == root.run_id
    with pytest.raises(InvalidParameter, match="run_name='a' and name='b'"):
        tracking.start_run(run_name="a", name="b")
    assert tracking.active_run() is None


def test_an_exception_ends_the_run_failed_and_pops_it(store: str) -> None:
    with pytest.raises(ZeroDivisionError), tracking.start_run() as run:
        tracking.log_metric("m", 1.0)
        _ = 1 / 0
    assert tracking.active_run() is None
    got = client().get_run(run.run_id)
    assert got.status is RunStatus.FAILED and "ZeroDivisionError" in (got.error or "")
    assert got.metrics["m"].last == 1.0


def test_start_and_end_without_a_block(store: str) -> None:
    outer = tracking.start_run(run_name="a")
    inner = tracking.start_run(run_name="b")
    tracking.end_run()
    assert tracking.active_run() is outer
    tracking.end_run(RunStatus.KILLED)
    assert tracking.active_run() is None
    tracking.end_run()  # nothing active: nothing to do
    assert client().get_run(inner.run_id).status is RunStatus.FINISHED
    assert client().get_run(outer.run_id).status is RunStatus.KILLED


def test_a_run_id_resumes_a_running_run(store: str) -> None:
    first = client().start_run("resumed", "by-client")
    with tracking.start_run(run_id=first.run_id) as again:
        tracking.log_metric("m", 3.0)
    assert again.run_id == first.run_id
    assert client().get_run(first.run_id).status is RunStatus.FINISHED


def test_each_thread_has_its_own_active_run(store: str) -> None:
    seen: dict[str, object] = {}
    ready, go_on = threading.Event(), threading.Event()

    def worker() -> None:
        seen["before"] = tracking.active_run()
        with tracking.start_run(run_name="thread") as run:
            seen["run"] = run
            ready.set()
            go_on.wait(10)
            tracking.log_metric("where", 2.0)

    with tracking.start_run(run_name="main") as main:
        thread = threading.Thread(target=worker)
        thread.start()
        assert ready.wait(10)
        assert tracking.active_run() is main  # the thread's run did not replace this one
        tracking.log_metric("where", 1.0)
        go_on.set()
        thread.join(10)
    assert seen["before"] is None  # a new thread starts with no active run
    thread_run = seen["run"]
    assert isinstance(thread_run, tracking.fluent.FluentRun)
    assert client().get_run(thread_run.run_id).parent_run_id is None
    assert client().get_run(main.run_id).metrics["where"].last == 1.0
    assert client().get_run(thread_run.run_id).metrics["where"].last == 2.0


def test_each_asyncio_task_has_its_own_active_run(store: str) -> None:
    async def task(name: str, value: float, started: asyncio.Event, other: asyncio.Event) -> str:
        with tracking.start_run(run_name=name) as run:
            started.set()
            await other.wait()  # both runs are open at once here
            tracking.log_metric("value", value)
            assert tracking.active_run() is run
            return run.run_id

    async def main() -> list[str]:
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(task("a", 1.0, a, b), task("b", 2.0, b, a))

    ids = asyncio.run(main())
    assert [client().get_run(i).metrics["value"].last for i in ids] == [1.0, 2.0]
    assert [client().get_run(i).parent_run_id for i in ids] == [None, None]


def test_without_set_store_the_default_client_opens_sweeps_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("SWEEPS_STORE", uri)
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(tmp_path / "art"))
    tracking.fluent.close()
    try:
        with tracking.start_run(run_name="env") as run:
            tracking.log_metric("m", 1.0)
        assert tracking.fluent.default_client().uri.endswith("env.db")
    finally:
        tracking.fluent.close()
    with tracking.connect(uri) as own:
        assert own.get_run(run.run_id).name == "env"


def test_set_store_refuses_a_bad_uri_and_an_open_run(store: str) -> None:
    with pytest.raises(tracking.InvalidURI):
        tracking.set_store("nonsense")
    with (
        tracking.start_run() as run,
        pytest.raises(InvalidParameter, match=rf"while 1 fluent run\(s\) are open \({run.run_id}\)"),
    ):
        tracking.set_store("sqlite:///other.db")
    assert client().uri == store


def test_a_missing_artifact_is_a_clear_error(store: str, tmp_path: Path) -> None:
    with tracking.start_run() as run:
        with pytest.raises(InvalidArtifactPath, match=r"missing\.txt does not exist"):
            tracking.log_artifact(tmp_path / "missing.txt")
        (tmp_path / "file.txt").write_text("x")
        with pytest.raises(InvalidArtifactPath, match="is not a folder"):
            tracking.log_artifacts(tmp_path / "file.txt")
        with pytest.raises(InvalidParameter, match="log_text takes a str"):
            tracking.log_text(b"bytes", "a.txt")  # type: ignore[arg-type]
    assert client().list_artifacts(run.run_id) == []


class Recording:
    """A RunTarget that records what it is given, as a sweep trial buffers it."""

    run_id = "recording-run"

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def log_params(self, params: Mapping[str, object]) -> None:
        self.calls.append(("params", dict(params)))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.calls.append(("metrics", (dict(metrics), step)))

    def set_tags(self, tags: Mapping[str, object]) -> None:
        self.calls.append(("tags", dict(tags)))

    def log_artifact(self, path: object, name: str | None = None) -> str:
        self.calls.append(("artifact", name))
        return name or ""

    def log_dict(self, obj: object, name: str) -> str:
        self.calls.append(("dict", name))
        return name

    def log_text(self, text: str, name: str) -> str:
        self.calls.append(("text", name))
        return name

    def log_figure(self, figure: object, name: str) -> str:
        return name

    def log_image(self, image: object, name: str) -> str:
        return name

    def log_table(self, table: object, name: str) -> str:
        return name

    def log_model(self, model: object, name: str = "model", **kwargs: object) -> str:
        return name


def test_an_activated_target_takes_the_calls_and_is_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # An invalid store URI: any attempt to open the default client would fail loudly.
    monkeypatch.setenv("SWEEPS_STORE", "nope://nowhere")
    tracking.fluent.close()
    target = Recording()
    with pytest.raises(RuntimeError, match="objective failed"), activated(target) as active:
        assert tracking.active_run() is active and active.run_id == "recording-run"
        tracking.log_metric("loss", 0.1, step=2)
        tracking.log_param("alpha", 1)
        with tracking.start_run(run_name="ignored", tags={"t": 1}) as nested:
            assert nested.target is target  # no store here: the target itself
            tracking.set_tag("k", "v")
        tracking.end_run()  # the target's owner ends it, not the fluent layer
        assert tracking.active_run() is active
        with pytest.raises(InvalidParameter, match="belongs to a sweep trial"):
            _ = active.info
        raise RuntimeError("objective failed")
    assert tracking.active_run() is None
    assert target.calls == [
        ("metrics", ({"loss": 0.1}, 2)),
        ("params", {"alpha": 1}),
        ("tags", {"t": 1}),
        ("tags", {"k": "v"}),
    ]
    with pytest.raises(InvalidParameter, match="cannot be an active run"), activated(object()):  # type: ignore[arg-type]
        pass


def test_only_the_fluent_layer_reads_the_active_run() -> None:
    # SPEC §12: lower layers never read the context variable; only these modules import it.
    root = Path(tracking.__file__).parent
    allowed = {"fluent", "sklearn"}
    for path in root.rglob("*.py"):
        part = path.relative_to(root).parts[0]
        if part in allowed or (path.name == "__init__.py" and path.parent == root):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            modules = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for module in modules:
                assert not module.startswith("tracking.fluent"), f"{path.relative_to(root)} imports {module}"
                if isinstance(node, ast.ImportFrom) and module == "tracking":
                    assert "fluent" not in {a.name for a in node.names}, path


def test_the_mlflow_tutorial_runs_with_tracking_in_place_of_mlflow(store: str, tmp_path: Path) -> None:
    """MLflow's quickstart, with `mlflow` replaced by `tracking` (the alias call is the client's)."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16.0, y[:500]  # scaled: a quick fit
    (tmp_path / "confusion.txt").write_text("confusion matrix")

    tracking.set_experiment("digits")
    tracking.sklearn.autolog()
    with tracking.start_run(run_name="baseline") as run:
        tracking.log_param("max_iter", 200)
        for epoch in range(3):
            tracking.log_metric("val_loss", 1.0 / (epoch + 1), step=epoch)
        tracking.log_artifact(str(tmp_path / "confusion.txt"))
        tracking.log_dict({"classes": list(range(10))}, "classes.json")
        tracking.set_tag("team", "vision")
        model = LogisticRegression(max_iter=200).fit(X, y)
        info = tracking.sklearn.log_model(model, "model", input_example=X[:5], registered_model_name="digits")

    client_ = tracking.TrackingClient()  # as MlflowClient(): the store set_store chose
    client_.registry.set_alias("digits", "champion", info.registered_model_version)
    loaded = tracking.load_model("models:/digits@champion")
    assert (loaded.predict(X[:20]) == model.predict(X[:20])).all()

    got = client_.get_run(run.info.run_id)
    assert got.status is RunStatus.FINISHED and got.name == "baseline"
    assert got.params["max_iter"] == "200" and got.tags["team"] == "vision"
    assert got.tags["estimator_name"] == "LogisticRegression"  # autologged
    assert got.metrics["training_accuracy_score"].last > 0.9
    assert [m.value for m in client_.get_metric_history(got.run_id, "val_loss")] == [1.0, 0.5, 1.0 / 3]
    names = {a.path for a in client_.list_artifacts(got.run_id)}
    assert {"confusion.txt", "classes.json", "model"} <= names
    assert client_.registry.get_version_by_alias("digits", "champion").run_id == got.run_id
    client_.close()
