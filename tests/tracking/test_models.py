"""Logged models: save/load round trips, signatures, input checks, tamper detection, URI forms."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

import tracking
from tracking import InvalidURI, ModelError, ModelIntegrityError, SignatureError, TrackingClient
from tracking.models import LoadedModel, ModelInfo, read_model_info


class MeanModel:
    """A plain object with predict: the mean of each row."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def predict(self, data: object) -> np.ndarray:
        return np.asarray(data, dtype=float).mean(axis=1) + self.offset


class FrameSum:
    """A plain model over frames (pandas or polars): the sum of each row."""

    def predict(self, frame: pd.DataFrame | pl.DataFrame) -> np.ndarray:
        return np.asarray(frame.to_numpy(), dtype=float).sum(axis=1)


class Tripwire:
    """A model whose unpickling writes a mark file: shows whether a payload was ever unpickled."""

    def __init__(self, mark: str) -> None:
        self.mark = mark

    def predict(self, data: object) -> np.ndarray:
        return np.zeros(len(data))  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_spring, (self.mark,))


def _spring(mark: str) -> Tripwire:
    Path(mark).write_text("unpickled")
    return Tripwire(mark)


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, y


@pytest.fixture(scope="module")
def iris_model(iris: tuple[pd.DataFrame, pd.Series]) -> LogisticRegression:
    x, y = iris
    return LogisticRegression(max_iter=1000).fit(x, y)


@pytest.fixture
def sqlite_client(sqlite_uri: str, artifact_root: Path) -> Iterator[TrackingClient]:
    """For tests of the model files alone; tests that go through the registry use both stores."""
    with tracking.connect(sqlite_uri, artifacts=str(artifact_root)) as c:
        yield c


def log(client: TrackingClient, model: object, **kwargs: object) -> tuple[str, str]:
    """Log ``model`` in a fresh finished run; returns (run_id, runs:/ URI)."""
    with client.start_run("models") as run:
        uri = run.log_model(model, **kwargs)
    return run.run_id, uri


def payload_path(client: TrackingClient, run_id: str, name: str = "model") -> Path:
    path = client.artifacts(run_id).local_path(f"{name}/model.pkl")
    assert path is not None
    return path


# -- round trips -----------------------------------------------------------------------------


def test_sklearn_round_trip(sqlite_client: TrackingClient, iris: tuple[pd.DataFrame, pd.Series], iris_model) -> None:
    x, _ = iris
    run_id, uri = log(sqlite_client, iris_model, input_example=x.head(5))
    assert uri == f"runs:/{run_id}/model"

    loaded = tracking.load_model(uri, sqlite_client)
    assert isinstance(loaded, LoadedModel)
    assert isinstance(loaded.raw, LogisticRegression)
    np.testing.assert_array_equal(loaded.predict(x), iris_model.predict(x))

    meta = loaded.metadata
    assert isinstance(meta, ModelInfo)
    assert set(meta.flavors) == {"sklearn", "python_function"}
    assert meta.flavors["sklearn"]["estimator"] == "LogisticRegression"
    assert meta.serializer == "pickle"
    assert {"python", "sklearn", "numpy", "pandas"} <= set(meta.libraries)
    assert meta.sha256 == hashlib.sha256(payload_path(sqlite_client, run_id).read_bytes()).hexdigest()
    assert meta.created_at.endswith("+00:00")
    example = loaded.input_example()
    assert isinstance(example, pd.DataFrame)
    assert list(example.columns) == list(x.columns) and len(example) == 5

    files = {a.path for a in sqlite_client.list_artifacts(run_id, "model")}
    assert files == {"model/model.pkl", "model/model.json", "model/input_example.json"}
    on_disk = json.loads(sqlite_client.artifacts(run_id).read_bytes("model/model.json"))
    assert on_disk["payload"]["sha256"] == meta.sha256


def test_plain_object_with_predict_round_trip(sqlite_client: TrackingClient) -> None:
    data = np.arange(12, dtype=float).reshape(4, 3)
    _, uri = log(sqlite_client, MeanModel(offset=1.0), input_example=data)
    loaded = tracking.load_model(uri, sqlite_client)
    assert set(loaded.metadata.flavors) == {"python_function"}
    assert loaded.metadata.serializer == "pickle"
    assert isinstance(loaded.raw, MeanModel) and loaded.raw.offset == 1.0
    np.testing.assert_allclose(loaded.predict(data), data.mean(axis=1) + 1.0)
    np.testing.assert_array_equal(loaded.input_example(), data)
    assert loaded.metadata.input_example == "input_example.npy"


def test_locally_defined_model_is_saved_by_value(sqlite_client: TrackingClient) -> None:
    class Local:
        def predict(self, data: object) -> np.ndarray:
            return np.ones(len(data))  # type: ignore[arg-type]

    _, uri = log(sqlite_client, Local(), input_example=np.zeros((2, 2)))
    loaded = tracking.load_model(uri, sqlite_client)
    assert loaded.metadata.serializer == "cloudpickle"
    np.testing.assert_array_equal(loaded.predict(np.zeros((3, 2))), np.ones(3))


def test_model_without_predict_is_refused(sqlite_client: TrackingClient) -> None:
    with sqlite_client.start_run("models") as run, pytest.raises(ModelError, match="no predict"):
        run.log_model({"weights": [1, 2, 3]})
    assert sqlite_client.list_artifacts(run.run_id) == []


def test_model_logged_without_example_has_no_signature(sqlite_client: TrackingClient, iris, iris_model) -> None:
    _, uri = log(sqlite_client, iris_model)
    loaded = tracking.load_model(uri, sqlite_client)
    assert loaded.signature is None and loaded.input_example() is None
    np.testing.assert_array_equal(loaded.predict(iris[0].head(3)), iris_model.predict(iris[0].head(3)))


# -- signatures ------------------------------------------------------------------------------


def test_signature_inferred_from_numpy_example(sqlite_client: TrackingClient) -> None:
    x, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(x, y)
    _, uri = log(sqlite_client, model, input_example=x[:4])
    sig = tracking.load_model(uri, sqlite_client).signature
    assert sig is not None
    assert sig.inputs.format == "numpy"
    assert (sig.inputs.dtype, sig.inputs.kind, sig.inputs.shape) == ("float64", "float", (-1, 10))
    assert sig.outputs is not None and sig.outputs.shape == (-1,) and sig.outputs.kind == "float"


def test_signature_inferred_from_pandas_example(sqlite_client: TrackingClient) -> None:
    frame = pd.DataFrame(
        {
            "age": np.array([30, 41, 52], dtype="int64"),
            "income": [1.5, 2.5, 3.5],
            "member": [True, False, True],
        }
    )
    _, uri = log(sqlite_client, FrameSum(), input_example=frame)
    sig = tracking.load_model(uri, sqlite_client).signature
    assert sig is not None and sig.inputs.format == "pandas"
    assert [(c.name, c.dtype, c.kind) for c in sig.inputs.columns] == [
        ("age", "int64", "integer"),
        ("income", "float64", "float"),
        ("member", "bool", "bool"),
    ]
    assert sig.outputs is not None and sig.outputs.kind == "float"


def test_signature_inferred_from_polars_example(sqlite_client: TrackingClient) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    _, uri = log(sqlite_client, FrameSum(), input_example=frame)
    loaded = tracking.load_model(uri, sqlite_client)
    sig = loaded.signature
    assert sig is not None and sig.inputs.format == "polars"
    assert [(c.name, c.kind) for c in sig.inputs.columns] == [("a", "integer"), ("b", "float")]
    np.testing.assert_allclose(loaded.predict(pl.DataFrame({"b": [1.0], "a": [2]})), [3.0])
    # A pandas frame is handed to the model as polars, the library it was logged with.
    np.testing.assert_allclose(loaded.predict(pd.DataFrame({"a": [1], "b": [1.0]})), [2.0])
    assert isinstance(loaded.input_example(), pl.DataFrame)


# -- input validation ------------------------------------------------------------------------


@pytest.fixture
def iris_loaded(sqlite_client: TrackingClient, iris, iris_model) -> LoadedModel:
    _, uri = log(sqlite_client, iris_model, input_example=iris[0].head(3))
    return tracking.load_model(uri, sqlite_client)


def test_missing_column_is_named(iris_loaded: LoadedModel, iris) -> None:
    with pytest.raises(SignatureError, match=r"missing column\(s\) 'petal width \(cm\)'"):
        iris_loaded.predict(iris[0].drop(columns=["petal width (cm)"]))


def test_wrong_dtype_is_named(iris_loaded: LoadedModel, iris) -> None:
    bad = iris[0].head(3).assign(**{"sepal length (cm)": ["a", "b", "c"]})
    with pytest.raises(SignatureError, match=r"column 'sepal length \(cm\)' has dtype (object|str)") as info:
        iris_loaded.predict(bad)
    assert "float64" in str(info.value)


def test_integer_columns_widen_to_float_and_columns_are_reordered(iris_loaded: LoadedModel, iris, iris_model) -> None:
    x = iris[0].head(10)
    shuffled = x[list(reversed(x.columns))].assign(extra=1)
    np.testing.assert_array_equal(iris_loaded.predict(shuffled), iris_model.predict(x))
    ints = x.round().astype("int64")
    assert len(iris_loaded.predict(ints)) == 10
    assert len(iris_loaded.predict({c: ints[c].tolist() for c in ints.columns})) == 10


def test_frame_model_refuses_an_array(iris_loaded: LoadedModel) -> None:
    with pytest.raises(SignatureError, match="expects a pandas DataFrame"):
        iris_loaded.predict(np.zeros((2, 4)))


def test_array_shape_and_dtype_are_checked(sqlite_client: TrackingClient) -> None:
    data = np.arange(8, dtype=float).reshape(2, 4)
    _, uri = log(sqlite_client, MeanModel(), input_example=data)
    loaded = tracking.load_model(uri, sqlite_client)
    assert len(loaded.predict(np.zeros((7, 4)))) == 7  # any batch size
    assert len(loaded.predict(np.zeros((1, 4), dtype=np.int32))) == 1  # ints widen to float
    with pytest.raises(SignatureError, match=r"size 3 on axis 1.*expects shape \(batch, 4\)"):
        loaded.predict(np.zeros((2, 3)))
    with pytest.raises(SignatureError, match="1 dimension"):
        loaded.predict(np.zeros(4))
    with pytest.raises(SignatureError, match=r"dtype <U1 \(string\); the model expects float64"):
        loaded.predict(np.array([["a"] * 4]))


def test_example_the_model_cannot_predict_is_refused(sqlite_client: TrackingClient, iris_model) -> None:
    with sqlite_client.start_run("models") as run, pytest.raises(SignatureError, match="predict"):
        run.log_model(iris_model, input_example=np.zeros((2, 7)))


# -- integrity -------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_tampered_payload_is_never_unpickled(sqlite_client: TrackingClient, tmp_path: Path, damage: str) -> None:
    mark = tmp_path / "unpickled.txt"
    run_id, uri = log(sqlite_client, Tripwire(str(mark)))
    payload = payload_path(sqlite_client, run_id)
    original = payload.read_bytes()

    tracking.load_model(uri, sqlite_client)  # the control: an intact payload does get unpickled
    assert mark.exists()
    mark.unlink()

    if damage == "flip":
        middle = len(original) // 2
        payload.write_bytes(original[:middle] + bytes([original[middle] ^ 0x01]) + original[middle + 1 :])
    else:
        payload.write_bytes(original[: len(original) // 2])
    with pytest.raises(ModelIntegrityError, match="refusing to unpickle") as info:
        tracking.load_model(uri, sqlite_client)
    assert not mark.exists()
    assert ("truncated" in str(info.value)) == (damage == "truncate")


def test_rewritten_metadata_is_caught_for_every_uri_form(client: TrackingClient, tmp_path: Path) -> None:
    # Whoever can rewrite both payload and model.json defeats the file's own hash; the hash the
    # store recorded when the model was logged (and at registration) still catches it.
    mark = tmp_path / "unpickled.txt"
    run_id, uri = log(client, Tripwire(str(mark)))
    client.registry.register_model("guarded", uri)
    client.registry.set_alias("guarded", "champion", 1)
    forged_mark = tmp_path / "forged.txt"
    _overwrite(client, run_id, Tripwire(str(forged_mark)))  # a consistent new payload + model.json
    for form in (uri, "models:/guarded/1", "models:/guarded@champion", "models:/guarded/latest"):
        with pytest.raises(ModelIntegrityError, match="refusing to load it"):
            tracking.load_model(form, client)
    assert not mark.exists() and not forged_mark.exists()


def test_a_model_folder_the_store_never_recorded_is_not_loaded(client: TrackingClient, tmp_path: Path) -> None:
    mark = tmp_path / "unpickled.txt"
    with client.start_run("models") as run:
        _overwrite(client, run.run_id, Tripwire(str(mark)))  # written into the folder, not logged
    with pytest.raises(ModelIntegrityError, match="the store has no payload hash"):
        tracking.load_model(f"runs:/{run.run_id}/model", client)
    assert not mark.exists()


def _overwrite(client: TrackingClient, run_id: str, model: object) -> None:
    from tracking.models import save_model

    save_model(model, client.artifacts(run_id), "model")


def test_missing_payload_is_an_integrity_error(sqlite_client: TrackingClient) -> None:
    run_id, uri = log(sqlite_client, MeanModel())
    payload_path(sqlite_client, run_id).unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        tracking.load_model(uri, sqlite_client)


# -- URIs ------------------------------------------------------------------------------------


def test_every_uri_form(client: TrackingClient, iris, iris_model) -> None:
    x = iris[0].head(4)
    expected = iris_model.predict(x)
    run_id, uri = log(client, iris_model, input_example=x, name="clf")
    assert uri == f"runs:/{run_id}/clf"
    registry = client.registry
    registry.register_model("iris", uri)
    registry.register_model("iris", run_id, "clf")
    registry.set_alias("iris", "champion", 1)
    registry.transition_stage("iris", 2, "Production")

    for form in (
        uri,
        "models:/iris/1",
        "models:/iris@champion",
        "models:/iris/Production",
        "models:/iris/production",
        "models:/iris/latest",
    ):
        loaded = tracking.load_model(form, client)
        assert loaded.uri == form
        np.testing.assert_array_equal(loaded.predict(x), expected)


def test_default_client_comes_from_the_environment(
    client: TrackingClient, store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, uri = log(client, MeanModel(), input_example=np.ones((1, 2)))
    monkeypatch.setenv("SWEEPS_STORE", store_uri)
    assert tracking.load_model(uri).predict(np.ones((1, 2))) == pytest.approx([1.0])


@pytest.mark.parametrize(
    "bad",
    [
        "/tmp/model",
        "file:///tmp/model",
        "s3://bucket/model",
        "models:/iris",
        "models:/iris/champion",
        "runs:/",
        "runs:/abc/../../../etc",
    ],
)
def test_other_locations_are_refused(sqlite_client: TrackingClient, bad: str) -> None:
    with pytest.raises(InvalidURI):
        tracking.load_model(bad, sqlite_client)


def test_unknown_things_are_clear_errors(client: TrackingClient) -> None:
    run_id, _ = log(client, MeanModel())
    with pytest.raises(ModelError, match="no model at 'elsewhere'"):
        tracking.load_model(f"runs:/{run_id}/elsewhere", client)
    with pytest.raises(tracking.RunNotFound):
        tracking.load_model("runs:/0123456789abcdef0123456789abcdef/model", client)
    with pytest.raises(tracking.ModelNotFound, match="no registered model named 'nope'"):
        tracking.load_model("models:/nope/1", client)


def test_read_model_info_matches_save(sqlite_client: TrackingClient) -> None:
    run_id, _ = log(sqlite_client, MeanModel(), input_example=[[1.0, 2.0]])
    info = read_model_info(sqlite_client.artifacts(run_id), "model")
    assert info.input_example == "input_example.json"
    assert info.signature is not None and info.signature.inputs.shape == (-1, 2)
    assert info.artifact_uri.endswith(f"{run_id}/artifacts/model")
