"""Loading a logged model by URI: resolve it through the store, verify its hash, check inputs."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

import numpy as np

from tracking.artifacts import Artifacts, safe_name
from tracking.errors import InvalidArtifactPath, InvalidURI, ModelError, ModelIntegrityError
from tracking.models._info import ModelInfo, read_model_info
from tracking.models._payload import verified_loads
from tracking.models._signature import Signature, check_input
from tracking.models._source import ModelSource, RegisteredVersion

_STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed model URI: a run's folder, or a registered model by version, alias or stage."""

    scheme: str  # runs | models
    run_id: str | None = None
    path: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    stage: str | None = None  # canonical stage name, or "latest"


def parse_model_uri(uri: str) -> ModelRef:
    """Parse ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>`` or ``models:/<name>@<alias>``."""
    usage = (
        "use runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias> or "
        "models:/<name>/<stage>; other paths are refused because loading a model runs its pickle"
    )
    if uri.startswith("runs:/"):
        run_id, _, path = uri[len("runs:/") :].strip("/").partition("/")
        if not run_id:
            raise InvalidURI(f"model URI {uri!r} has no run id; {usage}")
        try:
            return ModelRef("runs", run_id=run_id, path=safe_name(path or "model"))
        except InvalidArtifactPath as exc:
            raise InvalidURI(f"model URI {uri!r}: {exc}") from exc
    if uri.startswith("models:/"):
        rest = uri[len("models:/") :].strip("/")
        if "@" in rest:
            name, _, alias = rest.partition("@")
            if name and alias and "/" not in alias:
                return ModelRef("models", name=name, alias=alias)
        elif "/" in rest:
            name, _, ref = rest.rpartition("/")
            if name and _DIGITS.fullmatch(ref):
                return ModelRef("models", name=name, version=int(ref))
            if name and (ref.lower() in _STAGES or ref.lower() == "latest"):
                return ModelRef("models", name=name, stage=_STAGES.get(ref.lower(), "latest"))
        raise InvalidURI(f"model URI {uri!r} names no version, alias or stage; {usage}")
    raise InvalidURI(f"cannot load a model from {uri!r}; {usage}")


class LoadedModel:
    """A model read back from the store; ``predict`` checks its input against the signature."""

    def __init__(self, raw: object, metadata: ModelInfo, uri: str, artifacts: Artifacts) -> None:
        self.raw = raw
        self.metadata = metadata
        self.uri = uri
        self._artifacts = artifacts

    def __repr__(self) -> str:
        return f"LoadedModel({self.uri!r}, {self.metadata.model_class})"

    @property
    def signature(self) -> Signature | None:
        return self.metadata.signature

    def prepare(self, data: object) -> object:
        """``data`` checked against the input signature and shaped as the model expects it."""
        if self.signature is None:
            return data
        return check_input(self.signature.inputs, data)

    def predict(self, data: object) -> object:
        return self.raw.predict(self.prepare(data))  # type: ignore[attr-defined]

    def score(self, x: object, y: object) -> float:
        """The model's own ``score(X, y)`` (scikit-learn's default metric), after checking ``X``."""
        scorer = getattr(self.raw, "score", None)
        if not callable(scorer):
            raise ModelError(f"{self.metadata.model_class} has no score(X, y); pass a scorer callable instead")
        return float(scorer(self.prepare(x), y))

    def input_example(self) -> object | None:
        """The example saved with the model (never unpickled: .npy without pickles, or JSON)."""
        name = self.metadata.input_example
        if name is None:
            return None
        raw = self._artifacts.read_bytes(f"{self.metadata.path}/{name}")
        if name.endswith(".npy"):
            return np.load(io.BytesIO(raw), allow_pickle=False)
        body = json.loads(raw)
        if body.get("format") == "pandas":
            import pandas as pd

            return pd.DataFrame(body["data"], columns=body["columns"])
        if body.get("format") == "polars":
            import polars as pl

            return pl.DataFrame(body["data"])
        return np.asarray(body["data"])


def load_model(uri: str, client: ModelSource) -> LoadedModel:
    """Load the model at ``uri`` from ``client``'s store (`tracking.load_model` connects one for you)."""
    ref = parse_model_uri(uri)
    registered: RegisteredVersion | None = None
    if ref.scheme == "models":
        registered = _resolve_version(ref, client)
        ref = parse_model_uri(registered.source)
    assert ref.run_id is not None and ref.path is not None
    artifacts = client.artifacts(ref.run_id)
    info = read_model_info(artifacts, ref.path)
    if registered is not None and registered.model_sha256 and registered.model_sha256 != info.sha256:
        raise ModelIntegrityError(
            f"model {registered.name} version {registered.version}: the metadata at {info.artifact_uri} "
            "no longer matches the hash recorded at registration; the folder was modified, refusing to load it"
        )
    # The hash to trust is the store's (recorded when the model was logged), never model.json's
    # alone: whoever can write the folder can rewrite both the payload and its metadata.
    recorded = client.recorded_payload_sha256(ref.run_id, info.path)
    if recorded is None and registered is not None:
        recorded = registered.model_sha256
    if recorded is None:
        raise ModelIntegrityError(
            f"the store has no payload hash for the model at {info.artifact_uri} (it was not logged with "
            "log_model, or written into the artifact folder by other means); refusing to load it. Log it "
            "again with log_model"
        )
    if recorded != info.sha256:
        raise ModelIntegrityError(
            f"the metadata at {info.artifact_uri} no longer matches the payload hash the store recorded when "
            "the model was logged; the folder was modified, refusing to load it"
        )
    try:
        payload = artifacts.read_bytes(f"{ref.path}/{info.payload}")
    except FileNotFoundError:
        raise ModelIntegrityError(f"model payload {info.artifact_uri}/{info.payload} is missing") from None
    raw = verified_loads(
        payload,
        info.serializer,
        expected_sha256=info.sha256,
        expected_size=info.size,
        where=f"{info.artifact_uri}/{info.payload}",
    )
    return LoadedModel(raw, info, uri, artifacts)


def _resolve_version(ref: ModelRef, client: ModelSource) -> RegisteredVersion:
    registry = client.registry
    assert ref.name is not None
    if ref.version is not None:
        return registry.get_model_version(ref.name, ref.version)
    if ref.alias is not None:
        return registry.get_version_by_alias(ref.name, ref.alias)
    if ref.stage == "latest":
        return registry.get_latest_version(ref.name)
    return registry.get_latest_version(ref.name, ref.stage)
