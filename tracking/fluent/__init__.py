"""The fluent API: `start_run`, `log_*` on the active run of one default client, as MLflow users type."""

from __future__ import annotations

from tracking.fluent._api import (
    active_run,
    default_client,
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
from tracking.fluent._context import FluentRun, activated
from tracking.fluent._defaults import DEFAULTS
from tracking.fluent._target import RunTarget

__all__ = [
    "FluentRun",
    "RunTarget",
    "activated",
    "active_run",
    "close",
    "default_client",
    "end_run",
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
    "start_run",
]


def close() -> None:
    """Flush and close the default client, forget the default experiment; open runs stay RUNNING."""
    DEFAULTS.close()
