"""Predictions as MLflow's answer body, ``{"predictions": [...]}``; NaN and infinities of arrays and frames as null."""

from __future__ import annotations

import json
import math

import numpy as np

from tracking.models._signature import is_pandas_frame, is_polars_frame


def predictions_body(predictions: object) -> bytes:
    return json.dumps({"predictions": to_jsonable(predictions)}, default=_scalar, allow_nan=True).encode()


def to_jsonable(predictions: object) -> list[object]:
    if isinstance(predictions, np.ndarray):
        return _array_list(predictions)
    if is_pandas_frame(predictions):
        return [_clean_row(row) for row in predictions.to_dict(orient="records")]  # type: ignore[attr-defined]
    if is_polars_frame(predictions):
        return [_clean_row(row) for row in predictions.to_dicts()]  # type: ignore[attr-defined]
    to_numpy = getattr(predictions, "to_numpy", None)  # pandas or polars Series
    if callable(to_numpy):
        return _array_list(np.asarray(to_numpy()))
    if isinstance(predictions, list | tuple):
        return _array_list(np.asarray(predictions)) if _flat_numbers(predictions) else list(predictions)
    return [_clean(predictions)]


def _array_list(array: np.ndarray) -> list[object]:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        # JSON has no NaN or infinity: those become null, as pandas' to_json writes them.
        array = np.where(np.isfinite(array), array, None)
    if array.ndim == 0:
        return [array.item()]
    return array.tolist()  # type: ignore[no-any-return]


def _flat_numbers(values: list[object] | tuple[object, ...]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _clean_row(row: dict[str, object]) -> dict[str, object]:
    return {str(k): _clean(v) for k, v in row.items()}


def _clean(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _scalar(value: object) -> object:
    if isinstance(value, np.generic):
        return _clean(value)
    if isinstance(value, np.ndarray):
        return _array_list(value)
    return str(value)  # timestamps and the like: their text, rather than a failed answer
