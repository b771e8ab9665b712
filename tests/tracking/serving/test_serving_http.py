"""``sweeps models serve`` as a real process: every scoring format, the signature's refusals, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import tracking
from tests.support.server import ServerFailed, ServerProcess
from tests.tracking.serving.support import COLUMNS, FRAME, iris_pipeline, iris_tree, register, rows, scoring_server

MAX_BODY = 20_000


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with ``iris`` (an array model, @champion) and ``flowers`` (a pipeline over named columns)."""
    base = tmp_path_factory.mktemp("serving-store")
    uri = f"sqlite:///{base / 'store.db'}"
    with tracking.connect(uri, artifacts=str(base / "artifacts")) as client:
        register(client, "iris", iris_tree(3), rows(5))
        client.registry.set_alias("iris", "champion", 1)
        register(client, "flowers", iris_pipeline(), FRAME.head(5))
    return uri


@pytest.fixture(scope="module")
def iris(store_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    logs = tmp_path_factory.mktemp("iris-logs")
    with scoring_server("models:/iris@champion", store_uri, logs, extra=("--max-body-bytes", str(MAX_BODY))) as s:
        yield s


@pytest.fixture(scope="module")
def flowers(store_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with scoring_server("models:/flowers/1", store_uri, tmp_path_factory.mktemp("flowers-logs")) as s:
        yield s


def post(server: ServerProcess, doc: object) -> httpx.Response:
    return httpx.post(f"{server.url}/invocations", json=doc, timeout=30)


def expected_iris(n: int) -> list[int]:
    return iris_tree(3).predict(rows(n)).tolist()  # type: ignore[no-any-return]


def test_ping_and_version(iris: ServerProcess) -> None:
    assert httpx.get(f"{iris.url}/ping").status_code == 200
    version = httpx.get(f"{iris.url}/version").json()
    assert (version["name"], version["version"], version["alias"]) == ("iris", 1, "champion")
    assert len(version["sha256"]) == 64 and version["last_error"] is None and version["follows"] is True


@pytest.mark.parametrize(
    "doc",
    [
        {"dataframe_split": {"columns": COLUMNS, "data": rows(4).tolist()}},
        {"dataframe_records": [dict(zip(COLUMNS, row, strict=True)) for row in rows(4).tolist()]},
        {"instances": rows(4).tolist()},
        {"inputs": rows(4).tolist()},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs"],
)
def test_each_json_format_answers_predictions(iris: ServerProcess, doc: object) -> None:
    answer = post(iris, doc)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected_iris(4)}
    assert answer.headers["x-model-version"] == "1" and answer.headers["x-model-name"] == "iris"


def test_csv_answers_predictions(iris: ServerProcess) -> None:
    csv = ",".join(COLUMNS) + "\n" + "\n".join(",".join(map(str, row)) for row in rows(3).tolist())
    answer = httpx.post(f"{iris.url}/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected_iris(3)}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"instances": [[5.1, 3.5, 1.4]]},
            "input has size 3 on axis 1 (shape (1, 3)); the model expects shape (batch, 4)",
        ),
        ({"instances": [["a", "b", "c", "d"]]}, "input has dtype <U1 (string); the model expects float64 (float)"),
        ({"instances": [[[5.1, 3.5, 1.4, 0.2]]]}, "input has 3 dimension(s) with shape (1, 1, 4)"),
    ],
    ids=["shape", "dtype", "dimensions"],
)
def test_input_off_the_signature_answers_400_with_its_message(iris: ServerProcess, doc: object, message: str) -> None:
    answer = post(iris, doc)
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "BAD_REQUEST"
    assert answer.json()["message"].startswith(message)


def test_named_columns_are_checked_against_the_signature(flowers: ServerProcess) -> None:
    records = FRAME.head(3).to_dict(orient="records")
    answer = post(flowers, {"dataframe_records": records})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": iris_pipeline().predict(FRAME.head(3)).tolist()}  # type: ignore[attr-defined]

    without = [{k: v for k, v in r.items() if k != "petal_width"} for r in records]
    missing = post(flowers, {"dataframe_records": without})
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("input is missing column(s) 'petal_width'; the model expects [")

    wrong = post(flowers, {"dataframe_split": {"columns": COLUMNS, "data": [["x", 1.0, 1.0, 1.0]]}})
    assert wrong.status_code == 400
    assert "column 'sepal_length' has dtype" in wrong.json()["message"]
    assert "the model expects float64 (float)" in wrong.json()["message"]


def test_a_body_over_the_limit_answers_413(iris: ServerProcess) -> None:
    big = {"instances": np.ones((MAX_BODY // 10, 4)).tolist()}
    answer = post(iris, big)
    assert answer.status_code == 413
    assert f"over this server's limit of {MAX_BODY} bytes" in answer.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"instances": ['
        for _ in range(MAX_BODY // 10):
            yield b"[1, 2, 3, 4],"
        yield b"[1, 2, 3, 4]]}"

    streamed = httpx.post(f"{iris.url}/invocations", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_nothing_a_client_sends_yields_a_500(iris: ServerProcess) -> None:
    bodies: list[tuple[bytes, str | None]] = [
        (b"", "application/json"),
        (b"null", "application/json"),
        (b"{" * 50_00, "application/json"),
        (b'{"instances": [[NaN, Infinity, 1, 2]]}', "application/json"),  # sklearn refuses NaN
        (b'{"instances": []}', "application/json"),
        (b'{"instances": [[1e400, 1, 1, 1]]}', "application/json"),
        (b'{"instances": [[true, false, true, false]]}', "application/json"),
        (b'{"instances": [[{"a": 1}, 1, 1, 1]]}', "application/json"),
        (b'{"dataframe_split": {"data": 1}}', "application/json"),
        (b'{"dataframe_split": {"data": [[1, 2, 3, 4]], "columns": "abcd"}}', "application/json"),
        (b'{"dataframe_records": [{"a": [1, 2]}]}', "application/json"),
        (b'{"inputs": {"x": 5}}', "application/json"),
        (b"\x00\xff" * 100, "application/json"),
        (b"a,b\n1", "text/csv"),
        (b"a,b,c,d\nx,y,z,w\n", "text/csv"),
        (b"{}", "application/xml"),
        (b"{}", None),
    ]
    statuses = []
    for raw, content_type in bodies:
        headers = {"Content-Type": content_type} if content_type else {}
        answer = httpx.post(f"{iris.url}/invocations", content=raw, headers=headers)
        statuses.append(answer.status_code)
        assert 400 <= answer.status_code < 500 or answer.status_code == 200, (raw[:60], answer.text)
        if answer.status_code != 200:
            assert "Traceback" not in answer.text and json.loads(answer.text)["message"]
    assert 415 in statuses and statuses.count(200) <= 2  # the empty batch and the bool row may score
    assert httpx.get(f"{iris.url}/invocations").status_code == 405
    assert httpx.get(f"{iris.url}/nowhere").json()["error_code"] == "NOT_FOUND"
    assert httpx.get(f"{iris.url}/ping").status_code == 200  # and the server is still up


def test_serving_an_unknown_model_fails_before_listening(store_uri: str, tmp_path: Path) -> None:
    with (
        pytest.raises(ServerFailed, match="no registered model named 'ghost'"),
        scoring_server("models:/ghost@champion", store_uri, tmp_path),
    ):
        pass
