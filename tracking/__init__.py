"""Tracking: runs, params, step-wise metrics, tags, artifacts, search, models and a model registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracking.entities import Experiment, Metric, MetricPoint, MetricSummary, Run, RunStatus
from tracking.errors import (
    ExperimentNotFound,
    FilterError,
    ImportConflict,
    InvalidArtifactPath,
    InvalidParameter,
    InvalidURI,
    LifecycleError,
    ModelError,
    ModelIntegrityError,
    ModelNotFound,
    NotFound,
    ParamConflict,
    PermissionDenied,
    RegistryError,
    RunExists,
    RunFinished,
    RunInUse,
    RunNotFound,
    SchemaVersionError,
    SignatureError,
    SinkError,
    StoreError,
    StoreUnavailable,
    SweepLeased,
    TrackingError,
    Unauthenticated,
)
from tracking.lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from tracking import sklearn
    from tracking.client import TrackingClient, connect
    from tracking.fluent import (
        active_run,
        end_run,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_table,
        log_text,
        set_experiment,
        set_store,
        set_tag,
        set_tags,
        start_run,
    )
    from tracking.models import LoadedModel
    from tracking.run_handle import ActiveRun
    from tracking.sink import MetricSink
    from tracking.store import Store

__all__ = [
    "ActiveRun",
    "Experiment",
    "ExperimentNotFound",
    "FilterError",
    "ImportConflict",
    "InvalidArtifactPath",
    "InvalidParameter",
    "InvalidURI",
    "LifecycleError",
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
    "RunInUse",
    "RunNotFound",
    "RunStatus",
    "SchemaVersionError",
    "SignatureError",
    "SinkError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SweepLeased",
    "TrackingClient",
    "TrackingError",
    "Unauthenticated",
    "active_run",
    "connect",
    "end_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "set_experiment",
    "set_store",
    "set_tag",
    "set_tags",
    "sklearn",
    "start_run",
]

# Imported on first use: the client pulls in SQLAlchemy, which a Ray worker that only needs
# the records and the validators should not pay for. Records and errors are cheap and eager.
_LAZY = {
    "ActiveRun": "tracking.run_handle",
    "MetricSink": "tracking.sink",
    "Store": "tracking.store",
    "TrackingClient": "tracking.client",
    "connect": "tracking.client",
    "active_run": "tracking.fluent",
    "end_run": "tracking.fluent",
    "log_artifact": "tracking.fluent",
    "log_artifacts": "tracking.fluent",
    "log_dict": "tracking.fluent",
    "log_figure": "tracking.fluent",
    "log_image": "tracking.fluent",
    "log_metric": "tracking.fluent",
    "log_metrics": "tracking.fluent",
    "log_param": "tracking.fluent",
    "log_params": "tracking.fluent",
    "log_table": "tracking.fluent",
    "log_text": "tracking.fluent",
    "set_experiment": "tracking.fluent",
    "set_store": "tracking.fluent",
    "set_tag": "tracking.fluent",
    "set_tags": "tracking.fluent",
    "sklearn": "tracking.sklearn",  # its metrics need NumPy, which a CLI command should not pay for
    "start_run": "tracking.fluent",
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals(), __all__)


def load_model(uri: str, client: TrackingClient | None = None) -> LoadedModel:
    """Load a model from ``runs:/``, ``models:/name/version``, ``models:/name@alias`` or ``models:/name/stage``."""
    from tracking.models import load_model as _load

    if client is None:  # the shortcut connects; tracking.models takes an explicit source
        from tracking.client import connect
        from tracking.store.sqlite_files import require_existing
        from tracking.uri import resolve_store_uri

        require_existing(resolve_store_uri(None))  # loading never creates an empty store
        with connect() as own:
            try:
                return _load(uri, own)
            except NotFound as exc:  # the store was implicit: say which one was searched
                from tracking.uri import mask_password

                raise type(exc)(f"{exc} (looked in {mask_password(own.uri)})") from exc
    return _load(uri, client)
