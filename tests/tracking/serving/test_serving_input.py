"""MLflow's scoring formats read into model input, and every malformed body refused with a reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tracking.models import ColumnSpec, DataSpec
from tracking.serving import ScoringInputError, UnsupportedContentType, parse_body
from tracking.serving._input import numeric_rows
from tracking.serving._output import predictions_body

ARRAY = DataSpec("numpy", dtype="float64", kind="float", shape=(-1, 2))
TABLE = DataSpec("pandas", (ColumnSpec("a", "float64", "float"), ColumnSpec("b", "int64", "integer")))
JSON = "application/json; charset=utf-8"


def body(doc: object) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "doc",
    [
        {"dataframe_split": {"columns": ["x", "y"], "data": [[1.0, 2.0], [3.0, 4.0]]}},
        {"dataframe_records": [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]},
        {"instances": [[1.0, 2.0], [3.0, 4.0]]},
        {"inputs": [[1.0, 2.0], [3.0, 4.0]]},
        {"inputs": {"x": [[1.0, 2.0], [3.0, 4.0]]}},
    ],
    ids=["split", "records", "instances", "inputs", "inputs-named"],
)
def test_every_json_format_gives_the_same_array(doc: object) -> None:
    got = parse_body(body(doc), JSON, ARRAY)
    np.testing.assert_array_equal(got, [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    "doc",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [3.5, 4]], "index": [7, 8]}},
        {"dataframe_records": [{"a": 1.5, "b": 2}, {"a": 3.5, "b": 4}]},
        {"instances": [{"a": 1.5, "b": 2}, {"a": 3.5, "b": 4}]},
        {"inputs": {"a": [1.5, 3.5], "b": [2, 4]}},
        {"instances": [[1.5, 2], [3.5, 4]]},  # rows in the signature's column order
    ],
    ids=["split", "records", "instances", "inputs-columns", "instances-rows"],
)
def test_every_json_format_gives_the_same_frame(doc: object) -> None:
    got = parse_body(body(doc), JSON, TABLE)
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == ["a", "b"] and got["a"].tolist() == [1.5, 3.5] and got["b"].tolist() == [2, 4]


def test_csv_with_a_header_row() -> None:
    frame = parse_body(b"a,b\n1.5,2\n3.5,4\n", "text/csv", TABLE)
    assert isinstance(frame, pd.DataFrame) and frame["b"].tolist() == [2, 4]
    np.testing.assert_array_equal(parse_body(b"x,y\n1,2\n", "text/csv", ARRAY), [[1, 2]])


@pytest.mark.parametrize(
    ("raw", "content_type", "message"),
    [
        (b"{", JSON, "not valid JSON"),
        (b"[" * 100_000, JSON, "not valid JSON"),  # deeper than the parser's stack
        (b"[1, 2]", JSON, "not an object"),
        (b'{"rows": [[1, 2]]}', JSON, "found: 'rows'"),
        (b'{"instances": [[1, 2]], "inputs": [[1, 2]]}', JSON, "exactly one of"),
        (b'{"instances": [[1, 2]], "params": {"k": 1}}', JSON, "take no params"),
        (b'{"instances": 3}', JSON, "must be a list of rows"),
        (b'{"instances": [[1, 2], [3]]}', JSON, "rows differ in length"),
        (b'{"instances": [[1, null]]}', JSON, "not all numbers"),
        (b'{"inputs": {"x": [[1, 2]], "y": [[1, 2]]}}', JSON, "takes one array"),
        (b'{"dataframe_split": [[1, 2]]}', JSON, "must be an object"),
        (b'{"dataframe_records": [[1, 2]]}', JSON, "list of objects"),
        (b"", "text/csv", "CSV body cannot be read"),
        (b"\xff\xfe\x00", "text/csv", "CSV body cannot be read"),
    ],
)
def test_malformed_bodies_name_the_problem(raw: bytes, content_type: str, message: str) -> None:
    with pytest.raises(ScoringInputError, match=message):
        parse_body(raw, content_type, ARRAY)


def test_tabular_rows_must_fit_the_columns() -> None:
    with pytest.raises(ScoringInputError, match=r"lists of 2 values in the order \[a, b\]"):
        parse_body(body({"instances": [[1.5, 2, 3]]}), JSON, TABLE)
    with pytest.raises(ScoringInputError, match="column 'a' must be a list"):
        parse_body(body({"inputs": {"a": 1.5, "b": [2]}}), JSON, TABLE)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_other_content_types_are_unsupported(content_type: str | None) -> None:
    with pytest.raises(UnsupportedContentType, match="as application/json, or a CSV"):
        parse_body(b"{}", content_type, ARRAY)


def test_predictions_are_strict_json() -> None:
    assert json.loads(predictions_body(np.array([1.0, np.nan, np.inf]))) == {"predictions": [1.0, None, None]}
    assert json.loads(predictions_body(np.array([[0, 1], [2, 3]]))) == {"predictions": [[0, 1], [2, 3]]}
    frame = pd.DataFrame({"p": [0.5, np.nan]})
    assert json.loads(predictions_body(frame)) == {"predictions": [{"p": 0.5}, {"p": None}]}
    assert json.loads(predictions_body(pd.Series(["a", "b"]))) == {"predictions": ["a", "b"]}


def test_the_numeric_fast_path_reads_exactly_what_json_reads() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((300, 7)) * 10.0 ** rng.integers(-300, 300, (300, 7))
    for doc in ({"inputs": values.tolist()}, {"instances": values.round(3).tolist()}, {"inputs": [[1, -2], [3e5, 4]]}):
        raw = json.dumps(doc, indent=1).encode()
        fast = numeric_rows(raw)
        assert fast is not None and fast.dtype == np.float64
        np.testing.assert_array_equal(fast, np.asarray(next(iter(doc.values()))))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"inputs": [[1, 2], [3]]}',
        b'{"inputs": [[1, 2], [3, ]]}',
        b'{"inputs": [[[1, 2]]]}',
        b'{"inputs": [[1, 2]], "params": {}}',
        b'{"inputs": [[1, 2]]} trailing',
        b'{"inputs": [[]]}',
        b'{"inputs": [[1, 2], [3, 4]]]}',
        b'{"inputs": [[1, NaN]]}',
        b'{"inputs": [[1, "2"]]}',
        b'{"inputs": [[1, 2-]]}',
        b'{"dataframe_split": [[1, 2]]}',
    ],
)
def test_anything_else_leaves_the_fast_path_for_the_checked_one(raw: bytes) -> None:
    assert numeric_rows(raw) is None
