"""Saving a model folder under a run's artifacts: payload, metadata, signature, input example."""

from __future__ import annotations

import io
import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from tracking.artifacts import Artifacts, safe_name
from tracking.errors import ModelError
from tracking.models._info import METADATA_FILE, PAYLOAD_FILE, ModelInfo
from tracking.models._payload import dumps, is_sklearn_estimator, sha256
from tracking.models._signature import Signature, infer_signature, is_pandas_frame, is_polars_frame

FLAVORS = ("sklearn", "python_function")
_LIBRARIES = {"sklearn": "scikit-learn", "numpy": "numpy", "pandas": "pandas", "polars": "polars"}


def save_model(
    model: object,
    artifacts: Artifacts,
    name: str = "model",
    *,
    input_example: object | None = None,
    signature: Signature | Mapping[str, object] | None = None,
    flavor: str | None = None,
) -> ModelInfo:
    """Write ``model`` as the folder ``name`` of ``artifacts`` and return what was recorded.

    The signature is ``signature`` when given, else inferred from ``input_example`` and the
    model's prediction on it. ``flavor`` restricts the flavors recorded (``python_function``
    is always recorded, since loading goes through it).
    """
    if not callable(getattr(model, "predict", None)):
        raise ModelError(
            f"cannot log a {type(model).__qualname__} as a model: it has no predict() method; "
            "log objects with predict(data), or log other files with log_artifact"
        )
    folder = safe_name(name)
    flavors = _flavors(model, flavor)
    if isinstance(signature, Mapping):
        signature = Signature.from_dict(signature)
    if signature is None and input_example is not None:
        signature = infer_signature(model, input_example)

    payload, serializer = dumps(model)
    example_file = _write_example(artifacts, folder, input_example) if input_example is not None else None
    artifacts.put_bytes(payload, f"{folder}/{PAYLOAD_FILE}")
    info = ModelInfo(
        path=folder,
        artifact_uri=f"{artifacts.uri}/{folder}",
        model_class=f"{type(model).__module__}.{type(model).__qualname__}",
        flavors=flavors,
        serializer=serializer,
        payload=PAYLOAD_FILE,
        sha256=sha256(payload),
        size=len(payload),
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        libraries=_library_versions(serializer),
        signature=signature,
        input_example=example_file,
    )
    # The metadata goes last: a folder with model.json is a complete model.
    artifacts.put_bytes(json.dumps(info.to_dict(), indent=2).encode(), f"{folder}/{METADATA_FILE}")
    return info


def _flavors(model: object, requested: str | None) -> dict[str, dict[str, str]]:
    if requested is not None and requested not in FLAVORS:
        raise ModelError(f"unknown flavor {requested!r}; expected one of {', '.join(FLAVORS)}")
    flavors = {"python_function": {"predict": "predict", "loader": "tracking.load_model"}}
    sklearn = is_sklearn_estimator(model)
    if requested == "sklearn" and not sklearn:
        raise ModelError(
            f"flavor 'sklearn' asked for a {type(model).__qualname__}, which is not a scikit-learn estimator"
        )
    if sklearn and requested in (None, "sklearn"):
        flavors["sklearn"] = {"estimator": type(model).__name__, "sklearn_version": _version("scikit-learn") or ""}
    return flavors


def _library_versions(serializer: str) -> dict[str, str]:
    return dict(_installed_versions(serializer))  # a copy: the caller's to keep


@cache  # reading package metadata costs ~2.5 ms a save; what is installed does not change in a process
def _installed_versions(serializer: str) -> tuple[tuple[str, str], ...]:
    found = {"python": platform.python_version()}
    for label, dist in {**_LIBRARIES, serializer: serializer}.items():
        if label == "pickle":
            continue
        got = _version(dist)
        if got:
            found[label] = got
    return tuple(found.items())


@cache  # as above: each uncached call parses the package's metadata (~1 ms)
def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _write_example(artifacts: Artifacts, folder: str, example: object) -> str:
    """Save the example as .npy (plain arrays) or .json (frames, lists); never as a pickle."""
    if isinstance(example, np.ndarray) and example.dtype.kind not in "OV":
        buffer = io.BytesIO()
        np.save(buffer, example, allow_pickle=False)
        artifacts.put_bytes(buffer.getvalue(), f"{folder}/input_example.npy")
        return "input_example.npy"
    if is_pandas_frame(example):
        body = {"format": "pandas", **json.loads(example.to_json(orient="split", date_format="iso"))}  # type: ignore[attr-defined]
    elif is_polars_frame(example):
        body = {"format": "polars", "data": example.to_dict(as_series=False)}  # type: ignore[attr-defined]
    else:
        body = {"format": "list", "data": np.asarray(example).tolist()}
    artifacts.put_bytes(json.dumps(body, default=str).encode(), f"{folder}/input_example.json")
    return "input_example.json"
