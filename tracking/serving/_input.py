"""MLflow's scoring formats (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, CSV)
read into the frame or array that the model's input signature describes."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence

import numpy as np

from tracking.models import DataSpec
from tracking.serving._errors import ScoringInputError, UnsupportedContentType

FAST_PATH_BYTES = 16 * 1024  # below this, json.loads is quicker than starting polars' reader
JSON_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_USAGE = (
    'send {"dataframe_split": {"columns": [...], "data": [[...]]}}, {"dataframe_records": [{...}]}, '
    '{"instances": [...]} or {"inputs": ...} as application/json, or a CSV with a header row as text/csv'
)


def media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None, spec: DataSpec | None) -> object:
    """The request body as model input; `ScoringInputError` naming what is wrong and what to send."""
    kind = media_type(content_type)
    if kind == "application/json":
        return parse_json(body, spec)
    if kind == "text/csv":
        return parse_csv(body, spec)
    shown = f"Content-Type {kind!r}" if kind else "no Content-Type"
    raise UnsupportedContentType(f"{shown}: {_USAGE}")


def parse_json(body: bytes, spec: DataSpec | None) -> object:
    if _is_array(spec) and len(body) >= FAST_PATH_BYTES:
        fast = numeric_rows(body)
        if fast is not None:
            return fast
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser's stack
        raise ScoringInputError(f"the body is not valid JSON ({exc}); {_USAGE}") from None
    if not isinstance(doc, dict):
        raise ScoringInputError(f"the JSON body is a {type(doc).__name__}, not an object; {_USAGE}")
    formats = [key for key in JSON_FORMATS if key in doc]
    unknown = sorted(str(key) for key in doc if key not in JSON_FORMATS and key != "params")
    if len(formats) != 1 or unknown:
        found = ", ".join(map(repr, formats + unknown)) or "none"
        needed = ", ".join(JSON_FORMATS)
        raise ScoringInputError(f"the JSON body needs exactly one of {needed} (found: {found}); {_USAGE}")
    if doc.get("params"):
        raise ScoringInputError("this server's models take no params; leave 'params' out")
    key = formats[0]
    try:
        if key == "dataframe_split":
            return _from_split(doc[key], spec)
        if key == "dataframe_records":
            return _from_records(doc[key], spec)
        return _from_tensor(key, doc[key], spec)
    except ScoringInputError:
        raise
    except (ValueError, TypeError, KeyError) as exc:  # pandas and numpy refuse ragged or mixed data this way
        raise ScoringInputError(f"{key}: cannot be read as model input: {exc}") from None


_NUMERIC_HEAD = re.compile(rb'\s*\{\s*"(?:inputs|instances)"\s*:\s*')
_NOT_NUMERIC = b"0123456789.eE+-,[] \t\r\n"
_SPACE = b" \t\r\n"


def numeric_rows(body: bytes) -> np.ndarray | None:
    """``{"inputs": [[1.5, 2], ...]}`` (or ``instances``) read straight into a float array, or None.

    The general path (``json.loads`` then ``np.asarray``) builds a Python float per value; for
    a 1,000-row batch that is most of the request. Anything but rows of plain numbers of one
    length falls back to it (returns None), and so gets the general path's checks and messages.
    """
    head = _NUMERIC_HEAD.match(body)
    if head is None:
        return None
    rest = body[head.end() :].rstrip(_SPACE)
    if not rest.endswith(b"}"):
        return None
    flat = rest[:-1].translate(None, _SPACE)
    if not (flat.startswith(b"[[") and flat.endswith(b"]]")) or flat.translate(None, _NOT_NUMERIC):
        return None
    inner = flat[2:-2]
    rows = inner.split(b"],[")
    if not inner.count(b"[") == inner.count(b"]") == len(rows) - 1:
        return None  # brackets other than the row separators: deeper nesting
    if len({row.count(b",") for row in rows}) != 1 or not rows[0]:
        return None  # ragged or empty rows: the general path names the problem
    return _csv_floats(b"\n".join(rows), rows[0].count(b",") + 1)


def _csv_floats(text: bytes, width: int) -> np.ndarray | None:
    # polars' CSV reader parses floats exactly as JSON does (correctly rounded), at C speed.
    import polars as pl

    try:
        frame = pl.read_csv(text, has_header=False, schema={f"c{i}": pl.Float64 for i in range(width)})
    except pl.exceptions.PolarsError:
        return None
    array = frame.to_numpy()
    if np.isnan(array).any():  # an empty field (the allowed characters cannot spell NaN)
        return None
    return array


def parse_csv(body: bytes, spec: DataSpec | None) -> object:
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError and UnicodeDecodeError are ValueErrors
        raise ScoringInputError(
            f"the CSV body cannot be read ({exc}); send a header row, then one row per input"
        ) from None
    return frame.to_numpy() if _is_array(spec) else frame


def _is_array(spec: DataSpec | None) -> bool:
    return spec is not None and not spec.is_tabular


def _array(rows: object) -> np.ndarray:
    try:
        array = np.asarray(rows)
    except ValueError:  # numpy's words for ragged rows: "inhomogeneous shape after 1 dimensions"
        raise ScoringInputError("the rows differ in length: every row needs the same number of values") from None
    if array.dtype == object:  # None, nested objects or mixed types: no numeric reading of them
        raise ScoringInputError("the values are not all numbers, or not all strings, or the rows differ in length")
    return array


def _from_split(value: object, spec: DataSpec | None) -> object:
    if not isinstance(value, Mapping) or "data" not in value:
        raise ScoringInputError('dataframe_split must be an object {"columns": [...], "data": [[...], ...]}')
    data, columns = value["data"], value.get("columns")
    if not isinstance(data, list) or (columns is not None and not isinstance(columns, list)):
        raise ScoringInputError("dataframe_split: 'data' must be a list of rows and 'columns' a list of names")
    if _is_array(spec):
        return _array(data)
    import pandas as pd

    return pd.DataFrame(data, columns=columns)


def _from_records(value: object, spec: DataSpec | None) -> object:
    if not isinstance(value, list) or not all(isinstance(row, Mapping) for row in value):
        raise ScoringInputError("dataframe_records must be a list of objects, one {column: value} per row")
    if _is_array(spec):
        return _array([list(row.values()) for row in value])
    import pandas as pd

    return pd.DataFrame.from_records(value)


def _from_tensor(key: str, value: object, spec: DataSpec | None) -> object:
    if isinstance(value, Mapping):  # column-oriented: {"name": [values...]}
        if _is_array(spec):
            if len(value) != 1:
                raise ScoringInputError(f"{key}: the model takes one array, not the named inputs {sorted(value)}")
            return _array(next(iter(value.values())))
        import pandas as pd

        return pd.DataFrame({str(name): _column(name, column) for name, column in value.items()})
    if not isinstance(value, list):
        raise ScoringInputError(f"{key} must be a list of rows or an object of columns, not a {type(value).__name__}")
    if spec is not None and spec.is_tabular:
        return _rows_as_frame(key, value, spec)
    return _array(value)


def _column(name: object, column: object) -> Sequence[object]:
    if not isinstance(column, list):
        raise ScoringInputError(f"column {name!r} must be a list of values, one per row")
    return column


def _rows_as_frame(key: str, rows: list[object], spec: DataSpec) -> object:
    import pandas as pd

    if all(isinstance(row, Mapping) for row in rows):
        return pd.DataFrame.from_records(rows)
    names = [c.name for c in spec.columns]
    widths = {len(row) if isinstance(row, list) else -1 for row in rows}
    if widths - {len(names)}:
        raise ScoringInputError(
            f"{key}: rows of a table must be objects, or lists of {len(names)} values in the order [{', '.join(names)}]"
        )
    return pd.DataFrame(rows, columns=names)
