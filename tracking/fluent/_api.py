"""The fluent calls: MLflow's module-level API over the default client and the active run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tracking.entities import RunStatus
from tracking.errors import InvalidArtifactPath, InvalidParameter
from tracking.fluent._context import FluentRun, current, push, require
from tracking.fluent._defaults import DEFAULTS

if TYPE_CHECKING:
    from tracking.client import TrackingClient
    from tracking.entities import Experiment

__all__ = [
    "active_run",
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


def set_store(uri: str, artifacts: str | None = None) -> None:
    """Use the store at ``uri`` (and artifact root ``artifacts``) for the fluent calls from now on.

    Optional: without it the default client opens ``$SWEEPS_STORE`` (else ``sqlite:///sweeps.db``).
    Also sets ``$SWEEPS_STORE`` (and ``$SWEEPS_ARTIFACTS``) for this process, so ``tracking.connect()``
    and ``tracking.load_model(...)`` find the same store.
    """
    DEFAULTS.set_store(uri, artifacts)


def default_client() -> TrackingClient:
    """The fluent layer's client (opened on first use); use it for the calls the fluent API lacks."""
    return DEFAULTS.client()


def set_experiment(name: str) -> Experiment:
    """Start later runs in experiment ``name`` (created on first use); returns the experiment."""
    experiment = DEFAULTS.client().get_or_create_experiment(name)
    DEFAULTS.experiment = name
    return experiment


def start_run(
    *,
    run_name: str | None = None,
    name: str | None = None,
    experiment: str | None = None,
    experiment_id: int | str | None = None,
    parent: str | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
    tags: Mapping[str, object] | None = None,
    params: Mapping[str, object] | None = None,
    description: str | None = None,
    nested: bool | None = None,
) -> FluentRun:
    """Start a run and make it the active one; use it as a context manager (or call `end_run`).

    Started while another run is active, the new run is its child, in the same experiment
    unless one is named (``nested=True`` is accepted for MLflow code; nesting needs no flag).
    ``run_id``: resume writing to an existing RUNNING run. Inside a sweep objective the trial's
    run is already active: the trial is returned (``tags``, ``params`` go to it), no run is made.
    """
    del nested  # nesting follows from the active run, as MLflow's nested=True does
    if run_name is not None and name is not None and run_name != name:
        raise InvalidParameter(f"start_run got run_name={run_name!r} and name={name!r}; pass one of them")
    all_tags = {**(tags or {}), **({"description": description} if description is not None else {})}
    outer = current()
    if outer is not None and not outer.owned:
        # A sweep trial: its worker holds no store, so nested runs cannot be made here.
        if params:
            outer.target.log_params(params)
        if all_tags:
            outer.target.set_tags(all_tags)
        return FluentRun(outer.target)
    client = DEFAULTS.client()
    if run_id is not None:
        handle = client.attach(run_id)
        if all_tags:
            handle.set_tags(all_tags)
        if params:
            handle.log_params(params)
    else:
        parent_id = parent or parent_run_id or (outer.run_id if outer is not None else None)
        handle = client.start_run(
            _experiment_name(client, experiment, experiment_id, outer),
            run_name if run_name is not None else name,
            tags=all_tags,
            params=params,
            parent=parent_id,
        )
    run = FluentRun(handle, handle, on_end=DEFAULTS.ended)
    DEFAULTS.opened(run)
    push(run)
    return run


def _experiment_name(
    client: TrackingClient, name: str | None, experiment_id: int | str | None, outer: FluentRun | None
) -> str:
    if name is not None:
        return name
    if experiment_id is not None:
        return client.get_experiment(int(experiment_id)).name
    if outer is not None and outer.handle is not None:  # a child stays with its parent
        return client.get_experiment(outer.handle.experiment_id).name
    if DEFAULTS.experiment is not None:
        return DEFAULTS.experiment
    return os.environ.get("SWEEPS_EXPERIMENT") or "Default"


def active_run() -> FluentRun | None:
    """The active run of this thread / asyncio task (a sweep objective: its trial), or None."""
    return current()


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (no-op without one; a sweep trial's run ends when the objective returns)."""
    run = current()
    if run is not None and run.owned:
        run.end(status)


# -- params, metrics, tags -------------------------------------------------------------------


def log_param(key: str, value: object) -> object:
    require("log_param").target.log_params({key: value})
    return value


def log_params(params: Mapping[str, object]) -> None:
    require("log_params").target.log_params(params)


def log_metric(key: str, value: float, step: int | None = None, *, synchronous: bool | None = None) -> None:
    """Log one point (``step=None``: the next step of ``key``).

    Points are always batched (MLflow's ``synchronous=False``); ``synchronous`` is accepted for MLflow code.
    """
    require("log_metric").target.log_metrics({key: value}, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None, *, synchronous: bool | None = None) -> None:
    require("log_metrics").target.log_metrics(metrics, step)


def set_tag(key: str, value: object) -> None:
    require("set_tag").target.set_tags({key: value})


def set_tags(tags: Mapping[str, object]) -> None:
    require("set_tags").target.set_tags(tags)


# -- artifacts -------------------------------------------------------------------------------


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy a file (or folder) into the run's artifacts, under the folder ``artifact_path`` if given."""
    run = require("log_artifact")
    source = _existing(local_path, "log_artifact")
    name = f"{artifact_path.strip('/')}/{source.name}" if artifact_path else None
    return run.target.log_artifact(source, name)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    """Copy the contents of a folder into the run's artifacts (under ``artifact_path`` if given)."""
    run = require("log_artifacts")
    source = _existing(local_dir, "log_artifacts")
    if not source.is_dir():
        raise InvalidArtifactPath(f"log_artifacts: {source} is not a folder; log a single file with log_artifact")
    if artifact_path:
        return run.target.log_artifact(source, artifact_path.strip("/"))
    for entry in sorted(source.iterdir()):
        run.target.log_artifact(entry, entry.name)
    return ""


def _existing(path: str | os.PathLike[str], call: str) -> Path:
    source = Path(path)
    if not source.exists():
        raise InvalidArtifactPath(f"{call}: {source} does not exist (relative paths start at {Path.cwd()})")
    return source


def log_dict(dictionary: object, artifact_file: str) -> str:
    """Save ``dictionary`` as JSON, or as YAML when ``artifact_file`` ends in .yaml / .yml."""
    run = require("log_dict")
    if str(artifact_file).lower().endswith((".yaml", ".yml")):
        import yaml  # only for YAML names: a worker that never logs one does not load it

        return run.target.log_text(yaml.safe_dump(dictionary, sort_keys=False), artifact_file)
    return run.target.log_dict(dictionary, artifact_file)


def log_text(text: str, artifact_file: str) -> str:
    if not isinstance(text, str):
        raise InvalidParameter(f"log_text takes a str, got {type(text).__qualname__}; use log_dict for objects")
    return require("log_text").target.log_text(text, artifact_file)


def log_figure(figure: object, artifact_file: str) -> str:
    """Save a matplotlib (or plotly) figure; the name's extension picks the format (.png, .svg, .pdf...)."""
    return require("log_figure").target.log_figure(figure, artifact_file)


def log_image(image: object, artifact_file: str) -> str:
    """Save a numpy array (HxW, HxWx3, HxWx4; uint8, or float in [0, 1]) or a PIL image (.png, .jpg...)."""
    return require("log_image").target.log_image(image, artifact_file)


def log_table(data: object, artifact_file: str) -> str:
    """Save a pandas or polars DataFrame as .json, .csv or .parquet (by ``artifact_file``'s extension)."""
    return require("log_table").target.log_table(data, artifact_file)
