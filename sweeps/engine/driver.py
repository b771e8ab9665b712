"""The sweep loop: config -> coordinator + backend -> trials -> ranking -> registry -> report.

`run` starts a sweep, `resume` continues one from the store. Both return a `SweepResult`;
Ctrl-C ends the sweep KILLED and re-raises KeyboardInterrupt (the CLI exits 130); SIGTERM does
the same and raises `signals.Terminated`, a KeyboardInterrupt (the CLI exits 143). One driver
owns a sweep at a time (`sweeps.engine.lease`): a second one raises `SweepBusy` having changed
nothing, and a driver that loses its lease stops launching and raises `LeaseLost`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import yaml

import tracking
from sweeps.config import RegisterSpec, SweepConfig, apply_overrides, load_config, parse_scalar, resolve_objective
from sweeps.engine.executor import Objective
from sweeps.engine.hooks import build_report, register_best
from sweeps.engine.lease import DriverLease
from sweeps.engine.parent import SweepSetup, code_version, environment_info, new_sweep_id
from sweeps.engine.ranking import find_sweep, tallied_ranking
from sweeps.engine.result import ProgressCallback, SweepProgress, SweepResult
from sweeps.engine.signals import sigterm_as_interrupt
from sweeps.engine.warm_start import warm_trials
from sweeps.errors import ConfigError, ConfigProblem, LeaseLost, SweepsError
from tracking import sweep_layout as layout
from tracking.entities import Run, RunStatus
from tracking.uri import is_http, is_sqlite, resolve_artifact_root, resolve_store_uri

if TYPE_CHECKING:
    from tracking.registry import ModelVersion

__all__ = ["ProgressCallback", "resume", "run"]

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Where trials run: in-process (`local`) or on Ray (`ray`)."""

    def start(self, setup: SweepSetup) -> tuple[str, str]: ...
    def execute(self, progress: ProgressCallback) -> None: ...
    def interrupt(self) -> None: ...
    def abort(self, error: str) -> None: ...
    def finalize(self) -> SweepProgress: ...
    def close(self) -> None: ...


def run(
    config: str | os.PathLike[str] | Mapping[str, object] | SweepConfig,
    *,
    store: str | None = None,
    address: str | None = None,
    no_report: bool = False,
    no_register: bool = False,
    progress: ProgressCallback | None = None,
    overrides: Mapping[str, object] | None = None,
    **dotted: object,
) -> SweepResult:
    """Run a sweep to its budget (docs/objective.md).

    `config` is a YAML path, a dict or a SweepConfig; `overrides={"budget.trials": 20}` or
    keyword overrides with ``__`` for dots (``budget__trials=20``) act like ``--set``.
    """
    changes: dict[str, object] = dict(overrides or {})
    changes.update({key.replace("__", "."): value for key, value in dotted.items()})
    if address is not None:
        changes["execution.address"] = address
    cfg = load_config(config, changes)
    objective = resolve_objective(cfg.objective, cfg.base_dir)  # refuse a bad reference before starting
    commit = code_version(cfg.base_dir)
    setup = SweepSetup(
        config=cfg,
        sweep_id=new_sweep_id(cfg.name),
        store_uri=absolute_store_uri(store or cfg.store),
        artifact_root=resolve_artifact_root(cfg.artifacts),
        code_version=commit,
        environment=environment_info(commit),
    )
    final = _execute(setup, objective, progress)
    return _conclude(setup, final, no_report=no_report, no_register=no_register)


def resume(
    sweep_id: str,
    store: str | None = None,
    *,
    address: str | None = None,
    no_report: bool = False,
    no_register: bool = False,
    progress: ProgressCallback | None = None,
    overrides: Sequence[str] | Mapping[str, object] = (),
) -> SweepResult:
    """Continue an interrupted sweep to its budget, with the sampler's history rebuilt from the store.

    `overrides` (``["budget.trials=40"]`` or ``{"budget.trials": 40}``) may change `budget.*`
    keys only: a larger budget continues a finished sweep; the rest is fixed by its config.yaml.
    """
    budget_changes = resume_overrides(overrides)
    store_uri = absolute_store_uri(store)
    with tracking.connect(store_uri) as client:
        parent = find_sweep(client, sweep_id)
        sweep_id = parent.tags.get(layout.SWEEP_ID, sweep_id)  # the whole id, when a prefix named it
        try:
            text = client.artifacts(parent.run_id).read_bytes("config.yaml").decode()
        except FileNotFoundError as exc:
            raise SweepsError(f"sweep {sweep_id!r} has no config.yaml artifact; it cannot be resumed") from exc
    data = yaml.safe_load(text)
    if budget_changes:
        data = apply_overrides(data, budget_changes)
    changes: dict[str, object] = {"execution.address": address} if address is not None else {}
    cfg = load_config(data, changes, base_dir=parent.tags.get(layout.BASE_DIR))
    if budget_changes:
        _store_budget(store_uri, parent, cfg, data)
    objective = resolve_objective(cfg.objective, cfg.base_dir)
    commit = code_version(cfg.base_dir)
    setup = SweepSetup(
        config=cfg,
        sweep_id=sweep_id,
        store_uri=store_uri,
        artifact_root=resolve_artifact_root(cfg.artifacts),
        code_version=commit,
        # No environment: only a new parent records one (environment.json), and listing every
        # installed package takes half a second.
        parent_run_id=parent.run_id,
    )
    final = _execute(setup, objective, progress)
    return _conclude(setup, final, no_report=no_report, no_register=no_register)


def resume_overrides(overrides: Sequence[str] | Mapping[str, object]) -> dict[str, object]:
    """The `--set` changes a resume may make (budget keys only), or ConfigError naming the others."""
    items = list(overrides.items()) if isinstance(overrides, Mapping) else [_split(o) for o in overrides]
    refused = [key for key, _ in items if not key.startswith("budget.")]
    if refused:
        raise ConfigError(
            [
                ConfigProblem(
                    path=key,
                    message=(
                        "only budget keys (budget.trials, budget.timeout_s, budget.max_failures, budget.target) "
                        "can change on resume; the rest of a sweep is fixed by the config it started with"
                    ),
                    source="--set",
                )
                for key in refused
            ]
        )
    return {key: value for key, value in items}


def _split(text: str) -> tuple[str, object]:
    key, sep, value = str(text).partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            [ConfigProblem(str(text) or "<empty>", "an override must look like key.path=value", None, "--set")]
        )
    return key.strip(), parse_scalar(value)


def _store_budget(store_uri: str, parent: Run, cfg: SweepConfig, data: Mapping[str, object]) -> None:
    """The raised budget into the parent's config.yaml and tags, so a later resume keeps it."""
    with tracking.connect(store_uri) as client:
        client.artifacts(parent.run_id).put_bytes(yaml.safe_dump(dict(data), sort_keys=False).encode(), "config.yaml")
        client.set_tags(parent.run_id, {layout.BUDGET_TRIALS: str(cfg.budget.trials)})


def absolute_store_uri(uri: str | None) -> str:
    """The store URI with a relative SQLite path made absolute (Ray actors have their own cwd)."""
    resolved = resolve_store_uri(uri)
    if is_sqlite(resolved):
        path = resolved.split("://", 1)[1][1:]  # sqlite:///rel.db -> rel.db ; sqlite:////abs -> /abs
        if path and path != ":memory:" and not os.path.isabs(path):
            return f"sqlite:///{os.path.abspath(path)}"
    return resolved


def _make_backend(cfg: SweepConfig, objective: Objective) -> Backend:
    if cfg.execution.backend == "local":
        from sweeps.engine.local_backend import LocalBackend

        return LocalBackend(objective)
    from sweeps.engine.ray_backend import RayBackend  # imports Ray: only when a sweep uses it

    return RayBackend(cfg, objective)


# fsspec file systems that live inside one process: a Ray worker writing there writes into its own memory.
_PROCESS_LOCAL = ("memory://",)


def _check_artifact_root(setup: SweepSetup) -> None:
    """Refuse an artifact root the trials' workers cannot reach (never lose their files silently)."""
    root = setup.artifact_root
    if setup.config.execution.backend != "ray" or is_http(setup.store_uri) or not root.startswith(_PROCESS_LOCAL):
        return
    raise ConfigError(
        [
            ConfigProblem(
                path="artifacts",
                message=(
                    f"{root} lives inside one process, so Ray workers cannot write there and every artifact "
                    "would be lost; use a folder, a shared URL (s3://…), or execution.backend: local"
                ),
                source=setup.config.source,
            )
        ]
    )


def _execute(setup: SweepSetup, objective: Objective, progress: ProgressCallback | None) -> SweepProgress:
    _check_artifact_root(setup)
    with tracking.connect(setup.store_uri) as client:
        client.check_writable()  # a read-only store fails here, before Ray starts
        setup = replace(setup, warm_trials=warm_trials(client, setup.config))  # refused here when incompatible
    lease = DriverLease(setup.store_uri, setup.sweep_id)
    try:
        if setup.parent_run_id is not None:
            # Before Ray starts or anything is written: a refused resume leaves the store as it was.
            lease.acquire(setup.parent_run_id)
        final = _drive(replace(setup, lease=lease), objective, progress)
    finally:
        lease.release()
    if lease.lost is not None:
        raise LeaseLost(lease.lost)
    return final


def _drive(setup: SweepSetup, objective: Objective, progress: ProgressCallback | None) -> SweepProgress:
    notify = _safe(progress)
    backend = _make_backend(setup.config, objective)
    if setup.lease is not None:
        setup.lease.on_lost = backend.abort  # another driver owns the sweep now: launch nothing more
    try:
        backend.start(setup)
        try:
            # Installed after start: joining Ray installs a SIGTERM handler of its own in this process.
            with sigterm_as_interrupt():
                backend.execute(notify)
        except KeyboardInterrupt:
            backend.interrupt()
            notify(backend.finalize())
            raise
        except Exception as exc:
            backend.abort(f"the sweep driver failed: {type(exc).__name__}: {exc}")
            backend.finalize()
            raise
        final = backend.finalize()
        notify(final)
        return final
    finally:
        backend.close()


def _safe(progress: ProgressCallback | None) -> ProgressCallback:
    warned: list[bool] = []

    def notify(snapshot: SweepProgress) -> None:
        if progress is None:
            return
        try:
            progress(snapshot)
        except Exception as exc:  # a broken progress display must not break the sweep
            if not warned:
                warned.append(True)
                log.warning("progress callback failed: %s", exc)

    return notify


def _register(
    client: tracking.TrackingClient, spec: RegisterSpec, best: Run | None, parent: Run, reason: str | None = None
) -> tuple[ModelVersion | None, str | None]:
    """`register_best`, with a failure told as a note: the sweep's results stand without it."""
    try:
        return register_best(client, spec, best, parent, reason)
    except tracking.TrackingError as exc:
        return None, f"nothing registered as {spec.model!r}: {exc}"
    except Exception as exc:
        log.warning("registering the best model failed", exc_info=True)
        return None, f"nothing registered as {spec.model!r}: {type(exc).__name__}: {exc}"


def _reached(value: float, cfg: SweepConfig) -> bool:
    target = cfg.budget.target
    if target is None:
        return False
    return value >= target if cfg.metric.goal == "maximize" else value <= target


def _conclude(setup: SweepSetup, final: SweepProgress, *, no_report: bool, no_register: bool) -> SweepResult:
    cfg = setup.config
    notes: list[str] = []
    registered = None
    report_path = None
    with tracking.connect(setup.store_uri, setup.artifact_root) as client:
        parent = client.get_run(final.parent_run_id)
        # The reports package ranks (tracking.sweep_layout.best_key; Pareto fronts for several
        # metrics), so the result, the leaderboard, the report and the registry agree.
        simple = not cfg.is_multi_objective and cfg.repeats is None
        ranked = tallied_ranking(client, setup.sweep_id, final.best_run_id, simple)
        best, pareto = ranked.best, ranked.pareto
        if final.best_value is not None and _reached(final.best_value, cfg):
            notes.append(f"stopped at the target: the best value {final.best_value:g} reached budget.target")
        if cfg.register is not None and not no_register:
            if final.status == RunStatus.FINISHED.value:
                registered, note = _register(client, cfg.register, best, parent, ranked.reason)
                if note:
                    notes.append(note)
            else:
                notes.append(f"nothing registered: the sweep ended {final.status}")
        if not no_report:
            try:
                report_path = str(build_report(client, setup.sweep_id, cfg.report.output, top_k=cfg.report.top_k))
            except SweepsError as exc:
                notes.append(f"no report: {exc}")
            except Exception as exc:  # the sweep's results stand even if the report breaks
                log.warning("building the report failed", exc_info=True)
                notes.append(f"no report: {type(exc).__name__}: {exc}")
    return SweepResult(
        sweep_id=setup.sweep_id,
        parent_run_id=final.parent_run_id,
        status=final.status,
        best=best,
        n_trials=final.started,
        n_finished=final.finished,
        n_pruned=final.pruned,
        n_failed=final.failed,
        n_killed=final.killed,
        errors=final.errors,
        first_error=final.first_error,
        registered=registered,
        report_path=report_path,
        pareto=pareto,
        metric_names=tuple(m.name for m in cfg.metrics),
        notes=tuple(notes),
        store_uri=setup.store_uri,
        artifact_root=setup.artifact_root,
    )
