"""`warm_start: {sweeps: [...]}`: finished trials of earlier sweeps, checked against this space, for the study.

Checked in the driver before anything runs: a sweep whose space differs is refused naming the
parameter. The trials are added to the study first; they are not trials of this sweep.
"""

from __future__ import annotations

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from sweeps.config import CategoricalParam, ConfigProblem, FloatParam, IntParam, ParamSpec, SweepConfig
from sweeps.engine.ranking import find_sweep
from sweeps.engine.study_restore import frozen_trial, stored_distributions
from sweeps.errors import ConfigError, SweepsError
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run, RunStatus

__all__ = ["space_distributions", "warm_trials"]

_USABLE = (RunStatus.FINISHED, RunStatus.PRUNED)


def space_distributions(parameters: tuple[ParamSpec, ...]) -> dict[str, BaseDistribution]:
    """The Optuna distribution of every searched parameter of a config space."""
    out: dict[str, BaseDistribution] = {}
    for spec in parameters:
        if isinstance(spec, FloatParam):
            out[spec.name] = FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, IntParam):
            out[spec.name] = IntDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
        elif isinstance(spec, CategoricalParam):
            out[spec.name] = CategoricalDistribution(list(spec.choices))
    return out


def warm_trials(client: TrackingClient, cfg: SweepConfig) -> tuple[FrozenTrial, ...]:
    """The usable trials of `cfg.warm_start`'s sweeps, or ConfigError naming what differs."""
    if cfg.warm_start is None:
        return ()
    here = space_distributions(cfg.parameters)
    problems: list[ConfigProblem] = []
    found: list[FrozenTrial] = []
    for i, ref in enumerate(cfg.warm_start.sweeps):
        path = f"warm_start.sweeps[{i}]"
        try:
            parent = find_sweep(client, ref)
        except SweepsError as exc:
            problems.append(ConfigProblem(path, str(exc), source=cfg.source))
            continue
        runs = [r for r in client.child_runs(parent.run_id) if r.status in _USABLE]
        why = _incompatible(cfg, parent, runs, here)
        if why is not None:
            name = parent.tags.get(layout.SWEEP_ID, ref)
            problems.append(ConfigProblem(path, f"sweep {name!r} cannot warm-start this one: {why}", source=cfg.source))
            continue
        found.extend(_frozen(client, cfg, runs))
    if problems:
        raise ConfigError(problems)
    return tuple(found)


def _incompatible(cfg: SweepConfig, parent: Run, runs: list[Run], here: dict[str, BaseDistribution]) -> str | None:
    try:
        metrics = layout.metric_specs(parent.tags)
    except ValueError as exc:
        return str(exc)
    mine = [m.to_dict() for m in cfg.metrics]
    if metrics != mine:
        return f"it optimizes {_metrics_text(metrics)}, this sweep {_metrics_text(mine)}"
    seen: set[str] = set()
    for run in runs:
        for name, dist in stored_distributions(run).items():
            if name in seen:
                continue
            seen.add(name)
            if name not in here:
                return f"parameter {name!r} is searched there but not here"
            if dist != here[name]:
                return f"parameter {name!r} differs: {_describe(dist)} there, {_describe(here[name])} here"
    conditional = {p.name for p in cfg.parameters if p.when}
    missing = sorted(set(here) - seen - conditional)
    if runs and missing:
        return f"parameter {missing[0]!r} is searched here but not there"
    return None


def _frozen(client: TrackingClient, cfg: SweepConfig, runs: list[Run]) -> list[FrozenTrial]:
    key = layout.intermediate_key(cfg.metric.name)
    histories = {} if cfg.is_multi_objective else client.metric_histories([r.run_id for r in runs], [key])
    out = []
    for run in runs:
        intermediate = {m.step: m.value for m in histories.get(run.run_id, {}).get(key, [])}
        trial = frozen_trial(run, cfg, intermediate, None)
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            out.append(trial)
    return out


def _describe(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return f"categorical {list(dist.choices)}"
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    low, high = dist.low, dist.high  # type: ignore[attr-defined]
    extra = " log" if dist.log else ""  # type: ignore[attr-defined]
    step = dist.step  # type: ignore[attr-defined]
    extra += f" step {step}" if step not in (None, 1) or (kind == "float" and step is not None) else ""
    return f"{kind} [{low}, {high}]{extra}"


def _metrics_text(metrics: list[dict[str, str]]) -> str:
    return ", ".join(f"{m.get('goal', '?')} {m['name']}" for m in metrics) or "nothing known"
