"""``sweeps models predict`` (files in chunks) and the refusals of ``sweeps models serve`` before it listens."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import tracking
from sweeps.cli.main import main
from tests.tracking.serving.support import COLUMNS, FRAME, X, iris_pipeline, iris_tree, register, rows, tamper


@pytest.fixture
def store(tmp_path: Path) -> str:
    """``iris`` v1 (an array model, @champion) and ``flowers`` v1 (a pipeline over named columns)."""
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with tracking.connect(uri, artifacts=str(tmp_path / "artifacts")) as client:
        register(client, "iris", iris_tree(3), rows(5))
        client.registry.set_alias("iris", "champion", 1)
        register(client, "flowers", iris_pipeline(), FRAME.head(5))
    return uri


def predict(uri: str, given: Path | str, wanted: Path | str, store: str, *extra: str) -> int:
    return main(["models", "predict", uri, "--input", str(given), "--output", str(wanted), "--store", store, *extra])


def write_input(path: Path, frame: pl.DataFrame) -> None:
    kind = path.suffix
    if kind == ".csv":
        frame.write_csv(path)
    elif kind == ".parquet":
        frame.write_parquet(path)
    elif kind == ".jsonl":
        frame.write_ndjson(path)
    else:
        frame.write_json(path)


def read_output(path: Path) -> list[object]:
    if path.suffix == ".csv":
        return pl.read_csv(path)["prediction"].to_list()
    if path.suffix == ".parquet":
        return pl.read_parquet(path)["prediction"].to_list()
    if path.suffix == ".jsonl":
        return [json.loads(line)["prediction"] for line in path.read_text().splitlines()]
    return [row["prediction"] for row in json.loads(path.read_text())]


@pytest.mark.parametrize("source", [".csv", ".parquet", ".json", ".jsonl"])
@pytest.mark.parametrize("target", [".csv", ".parquet", ".json", ".jsonl"])
def test_predict_scores_every_row_in_chunks(
    store: str, tmp_path: Path, source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pl.DataFrame(np.tile(X, (4, 1)), schema=COLUMNS, orient="row")  # 600 rows
    given, wanted = tmp_path / f"in{source}", tmp_path / f"out{target}"
    write_input(given, data)
    code = predict("models:/iris@champion", given, wanted, store, "--chunk-rows", "100")
    assert code == 0, capsys.readouterr().err
    assert read_output(wanted) == iris_tree(3).predict(data.to_numpy()).tolist()
    out = capsys.readouterr().out
    chunks = int(out.split(" chunk(s)")[0].rsplit(" ", 1)[1])
    assert out.startswith("600 row(s) scored in ") and chunks >= 2  # chunked, not read whole


def test_predict_selects_the_signature_columns(store: str, tmp_path: Path) -> None:
    given, wanted = tmp_path / "in.parquet", tmp_path / "out.csv"
    pl.from_pandas(FRAME).with_columns(pl.lit("x").alias("id")).select(["id", *reversed(COLUMNS)]).write_parquet(given)
    assert predict("models:/flowers/1", given, wanted, store) == 0
    assert read_output(wanted) == iris_pipeline().predict(FRAME).tolist()  # type: ignore[attr-defined]


def test_predict_refuses_input_off_the_signature_and_leaves_no_output(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given, wanted = tmp_path / "in.csv", tmp_path / "out.csv"
    pl.DataFrame({"a": [1.0] * 10, "b": [2.0] * 10}).write_csv(given)
    assert predict("models:/iris@champion", given, wanted, store) == 1
    err = capsys.readouterr().err
    assert f"{given}, rows 1-10: input has size 2 on axis 1" in err and "Traceback" not in err
    assert not wanted.exists() and list(tmp_path.glob(".out.csv*")) == []


def test_predict_refuses_unknown_formats_and_unreadable_files(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = tmp_path / "in.csv"
    given.write_text("a,b\n1,2\n")
    assert predict("models:/iris/1", given, "out.xlsx", store) == 2
    assert "use a .csv, .parquet or .json" in capsys.readouterr().err
    broken = tmp_path / "in.parquet"
    broken.write_bytes(b"not parquet")
    assert predict("models:/iris/1", broken, tmp_path / "out.csv", store) == 1
    assert f"cannot read {broken}" in capsys.readouterr().err


def test_serve_refuses_a_bad_uri_a_missing_store_and_an_unknown_model(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "serve", "/tmp/model.pkl", "--store", store]) == 2
    assert "cannot load a model from '/tmp/model.pkl'" in capsys.readouterr().err
    assert main(["models", "serve", "models:/iris@champion", "--store", f"sqlite:///{tmp_path / 'none.db'}"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["models", "serve", "models:/iris@production-ready", "--store", store]) == 1
    assert "cannot serve models:/iris@production-ready" in capsys.readouterr().err


def test_serve_and_predict_refuse_a_tampered_model(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with tracking.connect(store, artifacts=str(tmp_path / "artifacts")) as client:
        tamper(client, "iris", 1)
    assert main(["models", "serve", "models:/iris@champion", "--store", store]) == 1
    err = capsys.readouterr().err
    assert "does not match its recorded hash" in err and "refusing to unpickle it" in err
    given = tmp_path / "in.csv"
    pl.from_pandas(FRAME).write_csv(given)
    assert predict("models:/iris/1", given, tmp_path / "out.csv", store) == 1
    assert "does not match its recorded hash" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
