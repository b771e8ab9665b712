"""The metadata file of a logged model (``model.json``) and its frozen in-memory form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tracking.artifacts import Artifacts
from tracking.errors import ModelError
from tracking.models._signature import Signature

METADATA_FILE = "model.json"
PAYLOAD_FILE = "model.pkl"
# The run tag holding a logged model's payload sha256 (``sweeps.model_sha256.<path>``): a row in
# the store, which whoever can write the artifact folder (a shared disk, a bucket) cannot rewrite.
PAYLOAD_TAG_PREFIX = "sweeps.model_sha256."


def payload_tag(path: str) -> str:
    """The run tag recording the payload hash of the model folder ``path``."""
    return f"{PAYLOAD_TAG_PREFIX}{path}"


FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What ``model.json`` says about one logged model folder."""

    path: str  # the folder, relative to the run's artifacts ("model")
    artifact_uri: str  # the folder's full location
    model_class: str  # "sklearn.linear_model._logistic.LogisticRegression"
    flavors: Mapping[str, Mapping[str, str]]
    serializer: str  # pickle | joblib | cloudpickle
    payload: str  # file name of the payload inside the folder
    sha256: str
    size: int
    created_at: str  # ISO 8601, UTC
    libraries: Mapping[str, str] = field(default_factory=dict)
    signature: Signature | None = None
    input_example: str | None = None  # file name inside the folder
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "flavors", MappingProxyType({k: dict(v) for k, v in self.flavors.items()}))
        object.__setattr__(self, "libraries", MappingProxyType(dict(self.libraries)))

    def to_dict(self) -> dict[str, object]:
        return {
            "format_version": self.format_version,
            "model_class": self.model_class,
            "flavors": {k: dict(v) for k, v in self.flavors.items()},
            "payload": {"path": self.payload, "serializer": self.serializer, "sha256": self.sha256, "size": self.size},
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "libraries": dict(self.libraries),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, path: str, artifact_uri: str) -> ModelInfo:
        payload = data["payload"]
        flavors = data["flavors"]
        signature = data.get("signature")
        libraries = data.get("libraries") or {}
        assert isinstance(payload, Mapping) and isinstance(flavors, Mapping) and isinstance(libraries, Mapping)
        return cls(
            path=path,
            artifact_uri=artifact_uri,
            model_class=str(data["model_class"]),
            flavors={str(k): {str(a): str(b) for a, b in v.items()} for k, v in flavors.items()},
            serializer=str(payload["serializer"]),
            payload=str(payload["path"]),
            sha256=str(payload["sha256"]),
            size=int(payload["size"]),
            created_at=str(data["created_at"]),
            libraries={str(k): str(v) for k, v in libraries.items()},
            signature=Signature.from_dict(signature) if isinstance(signature, Mapping) else None,
            input_example=str(data["input_example"]) if data.get("input_example") else None,
            format_version=int(data.get("format_version", FORMAT_VERSION)),  # type: ignore[call-overload]
        )


def read_model_info(artifacts: Artifacts, path: str) -> ModelInfo:
    """The metadata of the model folder ``path``; ModelError when there is no readable model there."""
    try:
        raw = artifacts.read_bytes(f"{path}/{METADATA_FILE}")
    except FileNotFoundError:
        raise ModelError(
            f"no model at {path!r} in {artifacts.uri} ({path}/{METADATA_FILE} is missing); "
            "log one with run.log_model(model) or trial.log_model(model)"
        ) from None
    try:
        data = json.loads(raw)
        return ModelInfo.from_dict(data, path=path, artifact_uri=f"{artifacts.uri}/{path}")
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ModelError(f"model metadata {artifacts.uri}/{path}/{METADATA_FILE} is unreadable: {exc}") from exc
