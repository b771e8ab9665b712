"""The lineage of one model version: its payload, run, sweep, code, environment, data tags and audit trail.

One plain object (`Lineage`) that ``sweeps models show --version``, the evidence bundle and the UI's
version page all read; built from a handful of keyed reads, never a scan of the store's runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import tracking.sweep_layout as layout
from tracking.artifacts import Artifacts
from tracking.entities import Run, RunStatus
from tracking.errors import TrackingError
from tracking.models._info import payload_tag
from tracking.registry.entities import AuditEntry, ModelVersion
from tracking.uri import mask_password

__all__ = ["CONFIG_ARTIFACT", "DATA_TAG_PREFIX", "ENVIRONMENT_ARTIFACT", "Lineage", "LineageHost", "lineage"]

CONFIG_ARTIFACT = "config.yaml"
ENVIRONMENT_ARTIFACT = "environment.json"
DATA_TAG_PREFIX = "data."
# Capped so that a runaway config cannot make the lineage (and every bundle) huge.
_MAX_CONFIG_CHARS = 1_000_000


class LineageHost(Protocol):
    """What the lineage reads: `tracking.TrackingClient` does all of it."""

    @property
    def registry(self) -> _Registry: ...

    def get_run(self, run_id: str) -> Run: ...

    def child_runs(self, parent: str) -> list[Run]: ...

    def artifacts(self, run_id: str) -> Artifacts: ...


class _Registry(Protocol):
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    def audit_log(self, name: str) -> list[AuditEntry]: ...


@dataclass(frozen=True, slots=True)
class SweepLineage:
    sweep_id: str | None
    parent_run_id: str
    config: str | None  # the resolved config.yaml (passwords masked when it was logged)
    sampler: str | None
    pruner: str | None
    objective: str | None
    metric: str | None
    goal: str | None
    rank: int | None  # 1 = the sweep's best finished trial; None when this trial has no value
    size: int  # trials in the sweep (every child run)
    finished: int  # of which finished with a value
    data_tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Lineage:
    """Everything about one model version; `to_dict` is the ``--format json`` object."""

    name: str
    version: int
    model_uri: str
    source: str
    stage: str
    aliases: tuple[str, ...]
    created_at: int
    registered_sha256: str | None  # the version tag written at registration
    payload_sha256: str | None  # the run tag written when the model was logged
    run_id: str | None
    run_status: str | None
    run_params: Mapping[str, str]
    run_metrics: Mapping[str, float | None]  # last value per key
    run_data_tags: Mapping[str, str]
    sweep: SweepLineage | None
    code_commit: str | None
    git_dirty: bool | None
    objective_untracked: bool | None
    diff_sha256: str | None
    python: str | None
    platform: str | None
    packages: Mapping[str, str]
    environment: Mapping[str, object]  # environment.json as logged (packages included)
    audit: tuple[AuditEntry, ...]
    notes: tuple[str, ...] = ()  # what could not be read, and why

    def to_dict(self) -> dict[str, object]:
        sweep = None
        if self.sweep is not None:
            s = self.sweep
            sweep = {
                "sweep_id": s.sweep_id,
                "parent_run_id": s.parent_run_id,
                "sampler": s.sampler,
                "pruner": s.pruner,
                "objective": s.objective,
                "metric": s.metric,
                "goal": s.goal,
                "rank": s.rank,
                "size": s.size,
                "finished": s.finished,
                "data_tags": dict(s.data_tags),
                "config": s.config,
            }
        return {
            "name": self.name,
            "version": self.version,
            "model_uri": self.model_uri,
            "source": self.source,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "created_at": self.created_at,
            "sha256": {"registered": self.registered_sha256, "payload": self.payload_sha256},
            "run": {
                "run_id": self.run_id,
                "status": self.run_status,
                "params": dict(self.run_params),
                "metrics": {k: _json_number(v) for k, v in self.run_metrics.items()},
                "data_tags": dict(self.run_data_tags),
            },
            "sweep": sweep,
            "code": {
                "commit": self.code_commit,
                "dirty": self.git_dirty,
                "objective_untracked": self.objective_untracked,
                "diff_sha256": self.diff_sha256,
            },
            "environment": {
                "python": self.python,
                "platform": self.platform,
                "package_count": len(self.packages),
                "packages": dict(self.packages),
            },
            "audit": [_audit_dict(a) for a in self.audit],
            "notes": list(self.notes),
        }


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)  # NaN and ±inf are not JSON


def _audit_dict(a: AuditEntry) -> dict[str, object]:
    return {
        "id": a.id,
        "at": a.when.isoformat(),
        "at_ms": a.at,
        "action": a.action,
        "subject": a.subject,
        "version": a.version,
        "from": a.from_value,
        "to": a.to_value,
        "actor": a.actor,
        "reason": a.reason,
    }


def version_audit(entries: list[AuditEntry], version: int) -> tuple[AuditEntry, ...]:
    """The entries about ``version``: its own changes, and aliases or promotions that moved away from it."""
    mine = str(version)
    return tuple(
        e for e in entries if e.version == version or (e.action in ("alias", "promote") and e.from_value == mine)
    )


def lineage(client: LineageHost, name: str, version: int) -> Lineage:
    """The lineage of ``name`` v``version``; `ModelNotFound` for an unknown model or version.

    Parts that cannot be read (a deleted run, a missing artifact) leave their fields empty and
    say why in ``notes``: a lineage is evidence, so it shows gaps instead of failing on them.
    """
    found = client.registry.get_model_version(name, int(version))
    audit = version_audit(client.registry.audit_log(name), found.version)
    notes: list[str] = []
    run = _run(client, found.run_id, notes)
    path = found.source.split("/", 2)[2] if found.source.startswith("runs:/") and found.source.count("/") >= 2 else None
    payload = run.tags.get(payload_tag(path)) if run is not None and path else None
    parent = _run(client, run.parent_run_id, notes) if run is not None and run.parent_run_id else None
    if parent is not None and parent.tags.get(layout.KIND) != layout.KIND_SWEEP:
        parent = None  # a nested run of a script, not a sweep
    sweep = _sweep(client, parent, run, notes) if parent is not None and run is not None else None
    env = _environment(client, parent, notes) if parent is not None else {}
    packages = env.get("packages")
    return Lineage(
        name=found.name,
        version=found.version,
        model_uri=found.uri,
        source=found.source,
        stage=found.stage.value,
        aliases=tuple(found.aliases),
        created_at=found.created_at,
        registered_sha256=found.model_sha256,
        payload_sha256=payload,
        run_id=found.run_id,
        run_status=run.status.value if run is not None else None,
        run_params=dict(run.params) if run is not None else {},
        run_metrics={k: s.last for k, s in sorted(run.metrics.items())} if run is not None else {},
        run_data_tags=_data_tags(run),
        sweep=sweep,
        code_commit=_text(env.get("git_commit")) or (parent.tags.get(layout.CODE_VERSION) if parent else None),
        git_dirty=_flag(env.get("git_dirty")),
        objective_untracked=_flag(env.get("objective_untracked")),
        diff_sha256=_text(env.get("git_diff_sha256")),
        python=_text(env.get("python")),
        platform=_text(env.get("platform")),
        packages={str(k): str(v) for k, v in packages.items()} if isinstance(packages, Mapping) else {},
        environment=env,
        audit=audit,
        notes=tuple(notes),
    )


def _run(client: LineageHost, run_id: str | None, notes: list[str]) -> Run | None:
    if run_id is None:
        return None
    try:
        return client.get_run(run_id)
    except TrackingError as exc:
        notes.append(f"run {run_id}: {exc}")
        return None


def _data_tags(run: Run | None) -> dict[str, str]:
    if run is None:
        return {}
    return {k: v for k, v in sorted(run.tags.items()) if k.startswith(DATA_TAG_PREFIX)}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _read(client: LineageHost, run_id: str, name: str, notes: list[str]) -> str | None:
    try:
        return client.artifacts(run_id).read_bytes(name).decode("utf-8", errors="replace")
    except FileNotFoundError:
        notes.append(f"the sweep's parent run has no {name}")
    except (OSError, TrackingError, ValueError) as exc:
        notes.append(f"could not read {name}: {exc}")
    return None


def _environment(client: LineageHost, parent: Run, notes: list[str]) -> dict[str, object]:
    raw = _read(client, parent.run_id, ENVIRONMENT_ARTIFACT, notes)
    if raw is None:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        notes.append(f"{ENVIRONMENT_ARTIFACT} is not valid JSON")
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _sweep(client: LineageHost, parent: Run, run: Run, notes: list[str]) -> SweepLineage:
    config = _read(client, parent.run_id, CONFIG_ARTIFACT, notes)
    if config is not None:
        config = mask_password(config[:_MAX_CONFIG_CHARS])
    try:
        spec = layout.metric_specs(parent.tags)[0]
    except (ValueError, IndexError):
        spec = {}
    metric = spec.get("name")
    goal = layout.goal_of(parent.tags)
    # Only this sweep's children: an index lookup by parent, whatever the store's size.
    children = client.child_runs(parent.run_id)
    rank, finished = _rank(children, run.run_id, metric, goal)
    return SweepLineage(
        sweep_id=parent.tags.get(layout.SWEEP_ID),
        parent_run_id=parent.run_id,
        config=config,
        sampler=parent.tags.get(layout.SAMPLER),
        pruner=parent.tags.get(layout.PRUNER),
        objective=parent.tags.get(layout.OBJECTIVE),
        metric=metric,
        goal=goal if metric else None,
        rank=rank,
        size=len(children),
        finished=finished,
        data_tags=_data_tags(parent),
    )


def _rank(children: list[Run], run_id: str, metric: str | None, goal: layout.Goal) -> tuple[int | None, int]:
    """This run's place among the finished trials with a value, by the one best-trial rule."""
    if metric is None:
        return None, 0
    keys = sorted(
        layout.best_key(layout.objective_value(r, metric), goal, layout.trial_number(r), r.run_id)
        for r in children
        if r.status is RunStatus.FINISHED
    )
    valued = [k for k in keys if not k.missing]
    for place, key in enumerate(valued, start=1):
        if key.run_id == run_id:
            return place, len(valued)
    return None, len(valued)
