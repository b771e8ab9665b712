"""Tracking: runs, params, step-wise metrics, tags, artifacts, search, models and a model registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracking.entities import Experiment, Metric, MetricPoint, MetricSummary, Run, RunStatus
from tracking.errors import (
    ExperimentNotFound,
    FilterError,
    InvalidArtifactPath,
    InvalidParameter,
    InvalidURI,
    ModelError,
    ModelIntegrityError,
    ModelNotFound,
    NotFound,
    ParamConflict,
    PermissionDenied,
    RegistryError,
    RunExists,
    RunFinished,
    RunNotFound,
    SchemaVersionError,
    SignatureError,
    SinkError,
    StoreError,
    StoreUnavailable,
    TrackingError,
    Unauthenticated,
)
from tracking.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from tracking.client import TrackingClient, connect
    from tracking.models import LoadedModel
    from tracking.run_handle import ActiveRun
    from tracking.sink import MetricSink
    from tracking.store import Store

__all__ = [
    "ActiveRun",
    "Experiment",
    "ExperimentNotFound",
    "FilterError",
    "InvalidArtifactPath",
    "InvalidParameter",
    "InvalidURI",
    "Metric",
    "MetricPoint",
    "MetricSink",
    "MetricSummary",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFound",
    "NotFound",
    "ParamConflict",
    "PermissionDenied",
    "RegistryError",
    "Run",
    "RunExists",
    "RunFinished",
    "RunNotFound",
    "RunStatus",
    "SchemaVersionError",
    "SignatureError",
    "SinkError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TrackingClient",
    "TrackingError",
    "Unauthenticated",
    "connect",
    "load_model",
]

# Imported on first use: the client pulls in SQLAlchemy, which a Ray worker that only needs
# the records and the validators should not pay for. Records and errors are cheap and eager.
_LAZY = {
    "ActiveRun": "tracking.run_handle",
    "MetricSink": "tracking.sink",
    "Store": "tracking.store",
    "TrackingClient": "tracking.client",
    "connect": "tracking.client",
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals(), __all__)


def load_model(uri: str, client: TrackingClient | None = None) -> LoadedModel:
    """Load a model from ``runs:/``, ``models:/name/version``, ``models:/name@alias`` or ``models:/name/stage``."""
    from tracking.models import load_model as _load

    if client is None:  # the shortcut connects; tracking.models takes an explicit source
        from tracking.client import connect

        with connect() as own:
            return _load(uri, own)
    return _load(uri, client)
