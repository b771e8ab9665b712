"""`tracking.sklearn.log_model` / `load_model`: a scikit-learn model in the active run, optionally registered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracking.errors import InvalidParameter
from tracking.fluent import _context

if TYPE_CHECKING:
    from tracking.models import Signature

__all__ = ["LoggedModel", "load_model", "log_model"]


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """Where `log_model` put the model: ``model_uri`` loads it; the version, when it was registered."""

    model_uri: str
    run_id: str
    artifact_path: str
    registered_model_version: int | None = None


def log_model(
    sk_model: object,
    name: str = "model",
    *,
    input_example: object | None = None,
    signature: Signature | Mapping[str, object] | None = None,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
) -> LoggedModel:
    """Log ``sk_model`` (flavor ``sklearn``) as folder ``name`` of the active run's artifacts.

    The signature is inferred from ``input_example`` unless given. With
    ``registered_model_name`` a new version of that registered model points at it.
    ``artifact_path`` is MLflow 2's name for ``name``.
    """
    if artifact_path is not None and name not in ("model", artifact_path):
        raise InvalidParameter(f"log_model got name={name!r} and artifact_path={artifact_path!r}; pass one of them")
    path = artifact_path or name
    run = _context.require("sklearn.log_model")
    if registered_model_name is not None:
        from tracking.registry import check_model_name

        check_model_name(registered_model_name)  # refused before anything is written
        if run.client is None:
            raise InvalidParameter(
                "log_model(registered_model_name=...) inside a sweep objective: the trial's worker has no "
                "registry; register the sweep's best model with the config's `register:` section instead"
            )
    uri = run.target.log_model(sk_model, path, input_example=input_example, signature=signature, flavor="sklearn")
    version = None
    if registered_model_name is not None and run.client is not None:
        version = run.client.registry.register_model(registered_model_name, uri).version
    return LoggedModel(uri, run.run_id, path, version)


def load_model(model_uri: str) -> object:
    """The scikit-learn estimator itself at ``runs:/`` or ``models:/`` (integrity checked), via the default client."""
    from tracking.fluent import default_client
    from tracking.models import load_model as _load

    return _load(model_uri, default_client()).raw
