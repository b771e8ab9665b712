"""`sweeps import mlflow` on stores written by real MLflow 3 (a SQLite database and an mlruns folder):
every experiment, run, nesting, param, tag, metric point, artifact and model version comes over;
a second import changes nothing; conflicts and unreadable stores are clear errors, the store untouched."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracking
from sweeps.cli.main import main
from tracking.errors import ImportConflict, InvalidParameter, StoreError
from tracking.importers import import_mlflow
from tracking.store.sql_store import SqlStore

mlflow = pytest.importorskip("mlflow")


@dataclass
class Written:
    """What MLflow was told, to compare with what the import stored."""

    location: str
    parent: str
    child: str
    other: str  # a run of a second experiment
    histories: dict[tuple[str, str], list[tuple[int, float, int]]]
    artifacts: dict[str, dict[str, bytes]]


def write_mlflow_store(uri: str, work: Path, monkeypatch: pytest.MonkeyPatch) -> Written:
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.chdir(work)  # MLflow's default artifact root is ./mlruns
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("vision")
    (work / "notes.txt").write_text("notes")
    (work / "deep").mkdir()
    (work / "deep" / "a.json").write_text('{"a": 1}')
    with mlflow.start_run(run_name="search") as parent:
        mlflow.log_params({"lr": 0.1, "layers": 3})
        mlflow.set_tag("team", "vision")
        mlflow.log_metric("loss", 0.5)  # MLflow's default step 0, twice
        mlflow.log_metric("loss", 0.25)
        mlflow.log_artifact(str(work / "notes.txt"))
        with mlflow.start_run(run_name="trial-0", nested=True) as child:
            for step in range(50):
                mlflow.log_metric("acc", step / 50, step=step)
            mlflow.log_metric("nan_metric", math.nan, step=0)
            mlflow.log_artifacts(str(work / "deep"), "inputs")
            X, y = load_iris(return_X_y=True)
            mlflow.sklearn.log_model(
                LogisticRegression(max_iter=300).fit(X, y), name="model", registered_model_name="iris"
            )
    mlflow.set_experiment("audio")
    with mlflow.start_run(run_name="alone") as other:
        mlflow.log_metric("wer", 0.3, step=7)
    client = MlflowClient(uri)
    client.set_registered_model_alias("iris", "champion", 1)
    histories = {
        (r, k): [(m.step, m.value, m.timestamp) for m in client.get_metric_history(r, k)]
        for r, k in [
            (parent.info.run_id, "loss"),
            (child.info.run_id, "acc"),
            (child.info.run_id, "nan_metric"),
            (other.info.run_id, "wer"),
        ]
    }
    artifacts = {
        parent.info.run_id: {"notes.txt": b"notes"},
        child.info.run_id: {"inputs/a.json": b'{"a": 1}'},
    }
    return Written(uri, parent.info.run_id, child.info.run_id, other.info.run_id, histories, artifacts)


@pytest.fixture(scope="module", params=["sqlite", "mlruns"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Written]:
    """One store of each kind per module (MLflow's log_model takes seconds); tests only read it."""
    work = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    uri = f"sqlite:///{work / 'mlflow.db'}" if request.param == "sqlite" else (work / "mlruns").as_uri()
    with pytest.MonkeyPatch.context() as monkeypatch:
        out = write_mlflow_store(uri, work, monkeypatch)
    if request.param == "mlruns":
        out.location = str(work / "mlruns")  # the folder, as a user passes it
    yield out


def snapshot(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def test_every_run_param_tag_point_artifact_and_version_comes_over_once(written: Written, tmp_path: Path) -> None:
    store_path = tmp_path / "sweeps.db"
    store = SqlStore(f"sqlite:///{store_path}")
    try:
        summary = import_mlflow(written.location, store, artifact_root=str(tmp_path / "artifacts"))
    finally:
        store.close()
    assert (summary.runs_imported, summary.runs_present, summary.versions_imported) == (3, 0, 1)
    assert sorted(summary.experiments_created) == ["audio", "vision"]
    with tracking.connect(f"sqlite:///{store_path}", artifacts=str(tmp_path / "artifacts")) as client:
        parent, child, other = client.get_runs([written.parent, written.child, written.other])
        assert (parent.name, child.name, other.name) == ("search", "trial-0", "alone")
        assert child.parent_run_id == parent.run_id and parent.parent_run_id is None
        assert dict(parent.params) == {"lr": "0.1", "layers": "3"} and parent.tags["team"] == "vision"
        assert {r.status for r in (parent, child, other)} == {tracking.RunStatus.FINISHED}
        mlflow_parent = mlflow.tracking.MlflowClient(
            written.location if "://" in written.location else Path(written.location).as_uri()
        )
        info = mlflow_parent.get_run(written.parent).info
        assert (parent.start_time, parent.end_time) == (info.start_time, info.end_time)
        for (run_id, key), logged in written.histories.items():
            # a point MLflow repeated is one point
            distinct = {(s, "nan" if v != v else v, ts): (s, v, ts) for s, v, ts in logged}
            history = sorted(distinct.values(), key=lambda h: (h[0], h[2]))
            got = [(m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, key)]
            if key == "loss":  # two values at MLflow's step 0: both kept, in time order
                assert got == [(i, v, ts) for i, (_, v, ts) in enumerate(history)]
                assert parent.tags["sweeps.import.restepped"] == "loss"
            elif key == "nan_metric":
                assert len(got) == 1 and math.isnan(got[0][1]) and got[0][2] == history[0][2]
            else:
                assert got == history, (run_id, key, got[:3], history[:3])
        for run_id, files in written.artifacts.items():
            for name, data in files.items():
                assert client.artifacts(run_id).read_bytes(name) == data
        version = client.registry.get_version_by_alias("iris", "champion")
        assert version.run_id == written.child and version.tags["mlflow.version"] == "1"
        assert version.source.startswith(f"runs:/{written.child}/mlflow-models/")
        models = client.download_artifacts(written.child, "mlflow-models", tmp_path / "models")
        assert [p.name for p in models.rglob("MLmodel")] == ["MLmodel"]  # MLflow's model files came along
    before = snapshot(store_path)
    again = SqlStore(f"sqlite:///{store_path}")
    try:
        second = import_mlflow(written.location, again, artifact_root=str(tmp_path / "artifacts"))
    finally:
        again.close()
    assert (second.runs_imported, second.runs_present, second.versions_imported, second.versions_present) == (
        0,
        3,
        0,
        1,
    )
    assert second.artifact_files == 0
    assert snapshot(store_path) == before  # a second import changes nothing


def test_one_experiment_only(written: Written, tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'sweeps.db'}")
    try:
        summary = import_mlflow(written.location, store, artifact_root=str(tmp_path / "a"), experiments=["audio"])
        assert summary.experiments_created == ["audio"] and summary.runs_imported == 1
        assert summary.versions_imported == 0  # iris's version belongs to a run not imported
        with pytest.raises(InvalidParameter, match="no experiment named 'nope'"):
            import_mlflow(written.location, store, artifact_root=str(tmp_path / "a"), experiments=["nope"])
    finally:
        store.close()


def test_a_run_id_held_with_other_content_stops_the_import_before_anything_is_written(
    written: Written, tmp_path: Path
) -> None:
    store_path = tmp_path / "sweeps.db"
    with tracking.connect(f"sqlite:///{store_path}", artifacts=str(tmp_path / "a")) as client:
        client.start_run("mine", name="not the same", run_id=written.other).end()
    before = snapshot(store_path)
    store = SqlStore(f"sqlite:///{store_path}")
    try:
        with pytest.raises(ImportConflict, match=f"run {written.other} \\(experiment differs\\)"):
            import_mlflow(written.location, store, artifact_root=str(tmp_path / "a"))
    finally:
        store.close()
    assert snapshot(store_path) == before


def test_unreadable_sources_are_clear_errors_and_nothing_is_created(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'sweeps.db'}")
    try:
        with pytest.raises(InvalidParameter, match="does not exist"):
            import_mlflow(f"sqlite:///{tmp_path / 'missing.db'}", store, artifact_root=str(tmp_path))
        assert not (tmp_path / "missing.db").exists()
        with pytest.raises(InvalidParameter, match="not an MLflow tracking store"):
            import_mlflow(f"sqlite:///{tmp_path / 'sweeps.db'}", store, artifact_root=str(tmp_path))  # our own store
        (tmp_path / "junk.db").write_bytes(b"\x00garbage" * 100)
        with pytest.raises(StoreError, match="cannot read the MLflow store"):
            import_mlflow(f"sqlite:///{tmp_path / 'junk.db'}", store, artifact_root=str(tmp_path))
        with pytest.raises(InvalidParameter, match="not an mlruns folder"):
            import_mlflow(str(tmp_path), store, artifact_root=str(tmp_path))
    finally:
        store.close()


def test_the_cli_imports_and_prints_a_summary(
    written: Written, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'sweeps.db'}"
    code = main(["import", "mlflow", "--from", written.location, "--store", store, "--artifacts", str(tmp_path / "a")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "runs: 3 imported, 0 already here" in out and "model versions: 1 imported" in out
    code = main(["import", "mlflow", "--from", str(tmp_path / "nowhere"), "--store", store])
    out, err = capsys.readouterr()
    assert code == 1 and "no MLflow store at" in err and "Traceback" not in err
