"""The validated sweep config (docs/config.md) as frozen dataclasses, and its plain-dict form."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_ALIAS",
    "Budget",
    "CategoricalParam",
    "Condition",
    "Execution",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "MetricSpec",
    "ParamSpec",
    "PrunerSpec",
    "RegisterSpec",
    "Repeats",
    "ReportSpec",
    "Resources",
    "SamplerSpec",
    "Scalar",
    "SweepConfig",
    "WarmStart",
    "same_value",
]

Scalar = str | int | float | bool | None
Goal = Literal["maximize", "minimize"]
Backend = Literal["ray", "local"]

DEFAULT_ALIAS = "challenger"


@dataclass(frozen=True)
class Condition:
    """`when: {param: value}`: holds when `param` was given one of `values`."""

    param: str
    values: tuple[Scalar, ...]

    def holds(self, params: Mapping[str, object]) -> bool:
        """True when `param` is present in `params` with one of the allowed values."""
        if self.param not in params:
            return False
        actual = params[self.param]
        return any(same_value(actual, v) for v in self.values)


def same_value(a: object, b: object) -> bool:
    """Equality that keeps `True` apart from `1` (YAML users mean different things)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _when_dict(when: tuple[Condition, ...]) -> dict[str, object]:
    return {c.param: c.values[0] if len(c.values) == 1 else list(c.values) for c in when}


@dataclass(frozen=True)
class FloatParam:
    """A float in [low, high], optionally on a log scale or a grid of `step`."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        if self.when:
            out["when"] = _when_dict(self.when)
        return out


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high] (both included), every `step`, optionally log-scaled."""

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step != 1:
            out["step"] = self.step
        if self.when:
            out["when"] = _when_dict(self.when)
        return out


@dataclass(frozen=True)
class CategoricalParam:
    """One of a list of scalar `choices`."""

    name: str
    choices: tuple[Scalar, ...]
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "categorical", "choices": list(self.choices)}
        if self.when:
            out["when"] = _when_dict(self.when)
        return out


@dataclass(frozen=True)
class FixedParam:
    """A value that is not searched, passed through to the objective as is."""

    name: str
    value: object
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> object:
        return copy.deepcopy(self.value)


ParamSpec = FloatParam | IntParam | CategoricalParam | FixedParam


@dataclass(frozen=True)
class MetricSpec:
    """A metric the sweep optimizes and the direction it should go."""

    name: str
    goal: Goal = "maximize"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "goal": self.goal}


@dataclass(frozen=True)
class SamplerSpec:
    """The Optuna sampler by short name (`tpe`, `nsga2`, ...) and its constructor options."""

    name: str
    seed: int | None = None
    options: Mapping[str, object] = field(default_factory=dict)
    history_window: int | None = None  # sample from the last N trials only (long sweeps)

    def to_dict(self) -> dict[str, object]:
        window = {"history_window": self.history_window} if self.history_window is not None else {}
        return {"name": self.name, "seed": self.seed, **copy.deepcopy(dict(self.options)), **window}


@dataclass(frozen=True)
class PrunerSpec:
    """The Optuna pruner by short name (`none`, `median`, ...) and its constructor options."""

    name: str = "none"
    options: Mapping[str, object] = field(default_factory=dict)
    history_window: int | None = None  # compare with the last N trials only (long sweeps)

    def to_dict(self) -> dict[str, object]:
        window = {"history_window": self.history_window} if self.history_window is not None else {}
        return {"name": self.name, **copy.deepcopy(dict(self.options)), **window}


@dataclass(frozen=True)
class Budget:
    """When the sweep stops: trial count, wall-clock limit, failed trials tolerated."""

    trials: int = 20
    timeout_s: float | None = None
    max_failures: int | None = None
    target: float | None = None  # stop once the best value reaches it (the metric's goal decides the side)

    def to_dict(self) -> dict[str, object]:
        return {
            "trials": self.trials,
            "timeout_s": self.timeout_s,
            "max_failures": self.max_failures,
            "target": self.target,
        }


@dataclass(frozen=True)
class Resources:
    """What one trial reserves on a worker (fractions allowed, as in Ray)."""

    cpu: float = 1
    gpu: float = 0

    def to_dict(self) -> dict[str, object]:
        return {"cpu": self.cpu, "gpu": self.gpu}


@dataclass(frozen=True)
class Execution:
    """Where and how trials run: Ray (local or a cluster) or in-process, sequentially."""

    backend: Backend = "ray"
    address: str | None = None
    concurrency: int = 2
    resources: Resources = field(default_factory=Resources)
    retries: int = 1
    trial_timeout_s: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "address": self.address,
            "concurrency": self.concurrency,
            "resources": self.resources.to_dict(),
            "retries": self.retries,
            "trial_timeout_s": self.trial_timeout_s,
        }


@dataclass(frozen=True)
class RegisterSpec:
    """Register the winning trial's model under `model` with `alias`."""

    model: str
    alias: str = DEFAULT_ALIAS

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "alias": self.alias}


@dataclass(frozen=True)
class ReportSpec:
    """The HTML report: where to write it (None: the default path) and how many top trials."""

    output: str | None = None
    top_k: int = 10

    def to_dict(self) -> dict[str, object]:
        return {"output": self.output, "top_k": self.top_k}


@dataclass(frozen=True)
class WarmStart:
    """Earlier sweeps whose finished trials are added to the study before sampling."""

    sweeps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"sweeps": list(self.sweeps)}


@dataclass(frozen=True)
class Repeats:
    """Run each sampled configuration once per value of `param` (a seed); Optuna is told the mean."""

    param: str
    values: tuple[Scalar, ...]

    def to_dict(self) -> dict[str, object]:
        return {"param": self.param, "values": list(self.values)}


@dataclass(frozen=True)
class SweepConfig:
    """A whole sweep config, validated, with defaults filled in."""

    name: str
    experiment: str
    objective: str
    metrics: tuple[MetricSpec, ...]
    parameters: tuple[ParamSpec, ...] = ()
    sampler: SamplerSpec = field(default_factory=lambda: SamplerSpec("tpe"))
    pruner: PrunerSpec = field(default_factory=PrunerSpec)
    budget: Budget = field(default_factory=Budget)
    execution: Execution = field(default_factory=Execution)
    store: str | None = None
    artifacts: str | None = None
    register: RegisterSpec | None = None
    report: ReportSpec = field(default_factory=ReportSpec)
    tags: Mapping[str, str] = field(default_factory=dict)
    enqueue: tuple[Mapping[str, object], ...] = ()  # configurations evaluated first
    warm_start: WarmStart | None = None
    repeats: Repeats | None = None
    # Where the config came from; relative objective file paths resolve against base_dir.
    source: str | None = field(default=None, compare=False)
    base_dir: str | None = field(default=None, compare=False)

    @property
    def metric(self) -> MetricSpec:
        """The first (for single-objective sweeps: the only) metric."""
        return self.metrics[0]

    @property
    def is_multi_objective(self) -> bool:
        return len(self.metrics) > 1

    @property
    def directions(self) -> list[Goal]:
        """Optuna study directions, one per metric."""
        return [m.goal for m in self.metrics]

    @property
    def param_map(self) -> dict[str, ParamSpec]:
        return {p.name: p for p in self.parameters}

    def to_dict(self) -> dict[str, object]:
        """The resolved config as plain data (loads back to an equal SweepConfig)."""
        out: dict[str, object] = {
            "name": self.name,
            "experiment": self.experiment,
            "objective": self.objective,
        }
        if self.is_multi_objective:
            out["metrics"] = [m.to_dict() for m in self.metrics]
        else:
            out["metric"] = self.metric.to_dict()
        out["parameters"] = {p.name: p.to_dict() for p in self.parameters}
        out["sampler"] = self.sampler.to_dict()
        out["pruner"] = self.pruner.to_dict()
        out["budget"] = self.budget.to_dict()
        out["execution"] = self.execution.to_dict()
        out["store"] = self.store
        out["artifacts"] = self.artifacts
        out["register"] = self.register.to_dict() if self.register else None
        out["report"] = self.report.to_dict()
        out["tags"] = dict(self.tags)
        if self.enqueue:
            out["enqueue"] = [copy.deepcopy(dict(e)) for e in self.enqueue]
        if self.warm_start is not None:
            out["warm_start"] = self.warm_start.to_dict()
        if self.repeats is not None:
            out["repeats"] = self.repeats.to_dict()
        return out
