"""The sweep's parent run: its id, tags, flattened-config params, provenance artifacts."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from sweeps.config import SweepConfig
from sweeps.engine.environment import capture_environment, source_state
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run
from tracking.uri import mask_password
from tracking.validation import MAX_PARAM_VALUE_LEN

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from sweeps.engine.lease import DriverLease

__all__ = [
    "SweepSetup",
    "code_version",
    "create_parent",
    "environment_info",
    "flatten_config",
    "new_sweep_id",
    "parent_tags",
]


@dataclass(frozen=True)
class SweepSetup:
    """Everything the coordinator needs to start (or resume) a sweep; the backend hands it over."""

    config: SweepConfig
    sweep_id: str
    store_uri: str  # absolute: Ray workers run with another working directory
    artifact_root: str
    code_version: str = "unknown"
    environment: Mapping[str, object] = field(default_factory=dict)
    parent_run_id: str | None = None  # set when resuming
    node_id: str | None = None  # Ray node the driver runs on
    # The driver's lease on the sweep: held already when resuming, taken once a new parent exists.
    lease: DriverLease | None = field(default=None, compare=False, repr=False)
    # `warm_start:` trials (Optuna records), loaded and checked by the driver before anything runs.
    warm_trials: tuple[FrozenTrial, ...] = field(default=(), compare=False, repr=False)


def new_sweep_id(name: str) -> str:
    """``<name>-<8 hex>``: the id users pass to show / report / resume."""
    return f"{name}-{secrets.token_hex(4)}"


def code_version(folder: str | None) -> str:
    """The git commit of `folder` (the config's directory), or ``unknown`` outside a repo."""
    try:
        out = subprocess.run(
            ["git", "-C", folder or os.getcwd(), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else "unknown"


def environment_info(commit: str) -> dict[str, object]:
    """Python, platform, host, git commit and every installed package (`sweeps.engine.environment`)."""
    return capture_environment(commit)


def flatten_config(data: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """The resolved config as dotted-key params (lists as JSON text, empty mappings skipped)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, f"{dotted}."))
            continue
        text = json.dumps(value, default=str) if isinstance(value, list | tuple) else str(value)
        if len(text) <= MAX_PARAM_VALUE_LEN:  # the whole config is in config.yaml anyway
            out[dotted] = text
    return out


def _masked(data: Mapping[str, object]) -> dict[str, object]:
    """``data`` with the password of every URI in its strings replaced by ``***``, keys included."""
    return {mask_password(k) if isinstance(k, str) else k: _masked_value(v) for k, v in data.items()}


def _masked_value(value: object) -> object:
    if isinstance(value, str):
        return mask_password(value)
    if isinstance(value, Mapping):
        return _masked(value)
    if isinstance(value, list | tuple):
        return [_masked_value(v) for v in value]
    return value


def parent_tags(setup: SweepSetup) -> dict[str, str]:
    cfg = setup.config
    tags = {str(k): mask_password(str(v)) for k, v in cfg.tags.items()}
    tags.update(
        {
            layout.KIND: layout.KIND_SWEEP,
            layout.SWEEP_ID: setup.sweep_id,
            layout.OBJECTIVE: cfg.objective,
            layout.METRICS: json.dumps([m.to_dict() for m in cfg.metrics]),
            layout.SAMPLER: cfg.sampler.name,
            layout.PRUNER: cfg.pruner.name,
            layout.BUDGET_TRIALS: str(cfg.budget.trials),
            layout.CONCURRENCY: str(cfg.execution.concurrency),
            layout.BACKEND: cfg.execution.backend,
            layout.CODE_VERSION: setup.code_version,
            layout.STORE: mask_password(setup.store_uri),
        }
    )
    if cfg.base_dir:
        # A relative `path/file.py:function` objective resolves against it on resume.
        tags[layout.BASE_DIR] = cfg.base_dir
    return tags


def create_parent(client: TrackingClient, setup: SweepSetup) -> Run:
    """Start the RUNNING parent run with its tags, params, config.yaml and environment.json."""
    cfg = setup.config
    # A `store:` URI (or any other) may hold a password: none is stored, in params or config.yaml.
    resolved = _masked(cfg.to_dict())
    handle = client.start_run(
        experiment=cfg.experiment, name=cfg.name, tags=parent_tags(setup), params=flatten_config(resolved)
    )
    handle.log_text(yaml.safe_dump(resolved, sort_keys=False), "config.yaml")
    # The git state needs the objective, which only the config knows (issue 15: lineage).
    environment = {**setup.environment, **source_state(cfg.objective, cfg.base_dir)}
    handle.log_dict(environment, "environment.json")
    return client.get_run(handle.run_id)
