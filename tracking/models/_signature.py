"""Model signatures: inferred from an input example and the model's output, checked before predict."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tracking.errors import SignatureError

# Coarse dtype families; an input matches a column when its family is the same, or when it
# widens safely (integers and booleans are accepted where floats are expected).
_WIDENS_TO = {"float": {"integer", "bool"}, "string": {"object"}, "object": {"string"}}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    dtype: str  # as the library spells it ("int64", "Float64", "category"...)
    kind: str  # bool | integer | float | complex | string | category | datetime | timedelta | object


@dataclass(frozen=True, slots=True)
class DataSpec:
    """The shape of a model's input or output: named columns of a frame, or one typed array."""

    format: str  # pandas | polars | numpy
    columns: tuple[ColumnSpec, ...] = ()
    dtype: str | None = None  # arrays only
    kind: str | None = None  # arrays only
    shape: tuple[int, ...] | None = None  # arrays only; -1 is the batch dimension

    @property
    def is_tabular(self) -> bool:
        return self.format in ("pandas", "polars")

    def to_dict(self) -> dict[str, object]:
        if self.is_tabular:
            return {
                "format": self.format,
                "columns": [{"name": c.name, "dtype": c.dtype, "kind": c.kind} for c in self.columns],
            }
        return {"format": self.format, "dtype": self.dtype, "kind": self.kind, "shape": list(self.shape or ())}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DataSpec:
        fmt = str(data["format"])
        if fmt in ("pandas", "polars"):
            cols = data.get("columns") or []
            assert isinstance(cols, list)
            return cls(fmt, tuple(ColumnSpec(str(c["name"]), str(c["dtype"]), str(c["kind"])) for c in cols))
        shape = data.get("shape") or []
        assert isinstance(shape, list)
        return cls(fmt, dtype=str(data["dtype"]), kind=str(data["kind"]), shape=tuple(int(s) for s in shape))

    def describe(self) -> str:
        if self.is_tabular:
            return ", ".join(f"{c.name}: {c.dtype}" for c in self.columns)
        shape = ", ".join("batch" if s == -1 else str(s) for s in self.shape or ())
        return f"{self.dtype} array of shape ({shape})"


@dataclass(frozen=True, slots=True)
class Signature:
    inputs: DataSpec
    outputs: DataSpec | None = field(default=None)

    def to_dict(self) -> dict[str, object]:
        return {"inputs": self.inputs.to_dict(), "outputs": self.outputs.to_dict() if self.outputs else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Signature:
        inputs, outputs = data["inputs"], data.get("outputs")
        assert isinstance(inputs, Mapping)
        return cls(DataSpec.from_dict(inputs), DataSpec.from_dict(outputs) if isinstance(outputs, Mapping) else None)


# -- inference ---------------------------------------------------------------------------


def _module_of(obj: object) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_pandas_frame(obj: object) -> bool:
    return _module_of(obj) == "pandas" and type(obj).__name__ == "DataFrame"


def is_polars_frame(obj: object) -> bool:
    return _module_of(obj) == "polars" and type(obj).__name__ == "DataFrame"


def _numpy_kind(dtype: np.dtype) -> str:
    return {
        "b": "bool",
        "i": "integer",
        "u": "integer",
        "f": "float",
        "c": "complex",
        "U": "string",
        "S": "string",
        "M": "datetime",
        "m": "timedelta",
    }.get(dtype.kind, "object")


def _pandas_kind(dtype: object) -> str:
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_complex_dtype(dtype):
        return "complex"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "string"
    return "object"


def _polars_kind(dtype: object) -> str:
    import polars as pl

    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.DataType) and dtype.is_integer():
        return "integer"
    if isinstance(dtype, pl.DataType) and dtype.is_float():
        return "float"
    if dtype in (pl.String, pl.Utf8):
        return "string"
    if isinstance(dtype, pl.Categorical | pl.Enum) or dtype in (pl.Categorical, pl.Enum):
        return "category"
    if isinstance(dtype, pl.Datetime | pl.Date) or dtype in (pl.Datetime, pl.Date):
        return "datetime"
    if isinstance(dtype, pl.Duration) or dtype == pl.Duration:
        return "timedelta"
    return "object"


def infer_spec(data: object) -> DataSpec:
    """Describe ``data`` (a pandas/polars frame, numpy array, pandas Series or nested list)."""
    if is_pandas_frame(data):
        cols = tuple(
            ColumnSpec(str(name), str(dtype), _pandas_kind(dtype))
            for name, dtype in data.dtypes.items()  # type: ignore[attr-defined]
        )
        return DataSpec("pandas", cols)
    if is_polars_frame(data):
        cols = tuple(
            ColumnSpec(name, str(dtype), _polars_kind(dtype))
            for name, dtype in data.schema.items()  # type: ignore[attr-defined]
        )
        return DataSpec("polars", cols)
    array = as_array(data)
    shape = (-1, *array.shape[1:]) if array.ndim else ()
    return DataSpec("numpy", dtype=str(array.dtype), kind=_numpy_kind(array.dtype), shape=shape)


def as_array(data: object) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data
    to_numpy = getattr(data, "to_numpy", None)  # pandas Series, polars Series
    if callable(to_numpy):
        return np.asarray(to_numpy())
    return np.asarray(data)


def infer_signature(model: object, input_example: object) -> Signature:
    """Inputs from the example, outputs from ``model.predict(example)``."""
    inputs = infer_spec(input_example)
    try:
        output = model.predict(input_example)  # type: ignore[attr-defined]
    except Exception as exc:
        raise SignatureError(
            f"model.predict(input_example) failed ({type(exc).__name__}: {exc}); pass an input "
            "example the model accepts, or an explicit signature"
        ) from exc
    return Signature(inputs, infer_spec(output))


# -- validation --------------------------------------------------------------------------


def _compatible(expected: str, actual: str) -> bool:
    return expected == actual or actual in _WIDENS_TO.get(expected, set())


def check_input(spec: DataSpec, data: object) -> object:
    """``data`` as the model expects it (columns selected and ordered); SignatureError if it does not fit."""
    if spec.is_tabular:
        return _check_frame(spec, data)
    return _check_array(spec, data)


def _check_frame(spec: DataSpec, data: object) -> object:
    if isinstance(data, Mapping):
        data = _frame_from_mapping(spec.format, data)
    if not (is_pandas_frame(data) or is_polars_frame(data)):
        raise SignatureError(
            f"model expects a {spec.format} DataFrame with columns [{spec.describe()}], got {type(data).__name__}"
        )
    given = infer_spec(data)
    kinds = {c.name: c for c in given.columns}
    missing = [c.name for c in spec.columns if c.name not in kinds]
    if missing:
        raise SignatureError(
            f"input is missing column(s) {', '.join(map(repr, missing))}; the model expects [{spec.describe()}]"
        )
    for col in spec.columns:
        got = kinds[col.name]
        if not _compatible(col.kind, got.kind):
            raise SignatureError(
                f"column {col.name!r} has dtype {got.dtype} ({got.kind}); the model expects {col.dtype} ({col.kind})"
            )
    names = [c.name for c in spec.columns]
    frame = data.select(names) if is_polars_frame(data) else data[names]  # type: ignore[index,attr-defined]
    return _convert_frame(frame, spec.format)


def _frame_from_mapping(fmt: str, data: Mapping[object, object]) -> object:
    module = importlib.import_module("polars" if fmt == "polars" else "pandas")
    return module.DataFrame(dict(data))


def _convert_frame(frame: object, fmt: str) -> object:
    # Hand the model the frame library it was trained with.
    if fmt == "pandas" and is_polars_frame(frame):
        return frame.to_pandas()  # type: ignore[attr-defined]
    if fmt == "polars" and is_pandas_frame(frame):
        import polars as pl

        return pl.from_pandas(frame)
    return frame


def _check_array(spec: DataSpec, data: object) -> np.ndarray:
    if is_pandas_frame(data) or is_polars_frame(data):
        data = data.to_numpy()  # type: ignore[attr-defined]
    try:
        array = as_array(data)
    except Exception as exc:
        raise SignatureError(f"input of type {type(data).__name__} cannot be read as an array: {exc}") from exc
    expected = spec.shape or ()
    shown = "(" + ", ".join("batch" if s == -1 else str(s) for s in expected) + ")"
    if array.ndim != len(expected):
        raise SignatureError(
            f"input has {array.ndim} dimension(s) with shape {array.shape}; the model expects shape {shown}"
        )
    for axis, (want, got) in enumerate(zip(expected, array.shape, strict=True)):
        if want != -1 and want != got:
            raise SignatureError(
                f"input has size {got} on axis {axis} (shape {array.shape}); the model expects shape {shown}"
            )
    kind = _numpy_kind(array.dtype)
    if spec.kind is not None and not _compatible(spec.kind, kind):
        raise SignatureError(f"input has dtype {array.dtype} ({kind}); the model expects {spec.dtype} ({spec.kind})")
    return array
