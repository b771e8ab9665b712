"""Turn config specs into Optuna objects: samplers, pruners, and the suggested params of a trial."""

from __future__ import annotations

import importlib.util
import inspect
import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import optuna

from sweeps.config.model import (
    CategoricalParam,
    FixedParam,
    FloatParam,
    IntParam,
    ParamSpec,
    PrunerSpec,
    SamplerSpec,
    Scalar,
)
from sweeps.config.windowed import WindowedPruner, WindowedSampler
from sweeps.errors import did_you_mean

__all__ = [
    "MULTI_OBJECTIVE_SAMPLERS",
    "PRUNERS",
    "SAMPLERS",
    "SAMPLER_REQUIREMENTS",
    "build_pruner",
    "build_sampler",
    "continued_seed",
    "grid_search_space",
    "grid_size",
    "missing_requirement",
    "option_problems",
    "sampling_order",
    "suggest_params",
]

SAMPLERS: dict[str, type[optuna.samplers.BaseSampler]] = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "grid": optuna.samplers.GridSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "qmc": optuna.samplers.QMCSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "gp": optuna.samplers.GPSampler,
}
# CmaEsSampler raises on multi-objective studies; the others handle several directions.
MULTI_OBJECTIVE_SAMPLERS = frozenset(SAMPLERS) - {"cmaes"}
# Optuna imports these lazily, so a missing one would only fail mid-sweep.
SAMPLER_REQUIREMENTS: dict[str, tuple[str, str]] = {
    "cmaes": ("cmaes", "pip install cmaes"),
    "gp": ("torch", "pip install torch (the CPU build is enough)"),
}

PRUNERS: dict[str, type[optuna.pruners.BasePruner]] = {
    "none": optuna.pruners.NopPruner,
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "asha": optuna.pruners.SuccessiveHalvingPruner,  # SPEC §13: the name most papers use
    "threshold": optuna.pruners.ThresholdPruner,
}

# Options the config file cannot express: they take Python objects, or are built for the user.
_OBJECT_MARKERS = ("Callable", "Sampler", "Mutation", "Crossover", "FrozenTrial", "ndarray")
_BUILT_OPTIONS = {"grid": {"search_space"}}
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "None": (type(None),),
}
MAX_GRID_POINTS = 100_000
_GRID_SPAN_CAP = 10**12


def missing_requirement(sampler: str) -> str | None:
    """The install hint when `sampler` needs a package that is not importable, else None."""
    need = SAMPLER_REQUIREMENTS.get(sampler)
    if need is None or importlib.util.find_spec(need[0]) is not None:
        return None
    return f"sampler '{sampler}' needs the '{need[0]}' package: {need[1]}"


def option_problems(cls: type, options: Mapping[str, object], kind: str) -> list[tuple[str, str]]:
    """(option, message) for options `cls(**options)` would not take, judged by its signature."""
    params = {
        n: p
        for n, p in inspect.signature(cls).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    built = _BUILT_OPTIONS.get(kind, set())
    settable = [n for n in params if n not in built and not _takes_object(params[n])]
    out: list[tuple[str, str]] = []
    for name, value in options.items():
        if name in built:
            out.append((name, "is built from `parameters`; do not set it"))
        elif name not in params:
            out.append((name, f"unknown option for {kind}{did_you_mean(name, settable)}"))
        elif _takes_object(params[name]) and value is not None:
            out.append((name, "takes a Python object and cannot be set from a config"))
        else:
            expected = _type_mismatch(params[name], value)
            if expected:
                out.append((name, f"expected {expected}, got {value!r}"))
    for name, p in params.items():
        if p.default is p.empty and name not in options and name not in built:
            out.append((name, f"required option of {kind} is missing"))
    return out


def _annotation_tokens(param: inspect.Parameter) -> list[str]:
    ann = param.annotation
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
    return [t.strip().strip("'\"") for t in text.split("|")]


def _takes_object(param: inspect.Parameter) -> bool:
    return any(m in t for t in _annotation_tokens(param) for m in _OBJECT_MARKERS)


def _type_mismatch(param: inspect.Parameter, value: object) -> str | None:
    tokens = _annotation_tokens(param)
    if param.annotation is param.empty or not all(t in _SIMPLE_TYPES for t in tokens):
        return None  # not a plain type: the constructor itself will judge the value
    for token in tokens:
        if isinstance(value, bool) and token in ("int", "float"):
            continue
        if isinstance(value, _SIMPLE_TYPES[token]):
            return None
    return " or ".join("null" if t == "None" else t for t in tokens)


def grid_search_space(parameters: Iterable[ParamSpec]) -> dict[str, list[Scalar]]:
    """The GridSampler search space: every choice, every int step, every float step."""
    space: dict[str, list[Scalar]] = {}
    for spec in parameters:
        if isinstance(spec, CategoricalParam):
            space[spec.name] = list(spec.choices)
        elif isinstance(spec, IntParam):
            space[spec.name] = list(range(spec.low, spec.high + 1, spec.step))
        elif isinstance(spec, FloatParam):
            if spec.step is None:
                raise ValueError(f"grid sampler: float parameter '{spec.name}' has no step")
            count = math.floor((spec.high - spec.low) / spec.step + 1e-9) + 1
            space[spec.name] = [min(spec.low + i * spec.step, spec.high) for i in range(count)]
    return space


def grid_size(spec: FloatParam | IntParam) -> int:
    """How many points a stepped float or int range has on a grid."""
    if isinstance(spec, IntParam):
        return (spec.high - spec.low) // spec.step + 1
    span = (spec.high - spec.low) / (spec.step or 1.0)
    # Past this many points a grid is unusable anyway; avoid float overflow on huge spans.
    return math.floor(span + 1e-9) + 1 if span < _GRID_SPAN_CAP else _GRID_SPAN_CAP


def continued_seed(seed: int, told: int) -> int:
    """The seed of a sampler resumed after `told` trials: the original seed's sequence, moved on.

    Optuna samplers keep their random state in memory only; seeding a resumed one with the
    original seed would replay the first trials' values. Mixing in the count gives a new,
    reproducible stream for every resume point.
    """
    if told <= 0:
        return seed
    return int(np.random.SeedSequence([seed, told]).generate_state(1)[0])


def build_sampler(
    spec: SamplerSpec, parameters: Iterable[ParamSpec] = (), told: int = 0
) -> optuna.samplers.BaseSampler:
    """The Optuna sampler for `spec`; `parameters` gives the grid sampler its search space.

    `told`: trials the study already holds (a resume), which moves a seeded sampler's stream on.
    """
    cls = SAMPLERS[spec.name]
    kwargs = dict(spec.options)
    if spec.seed is not None:
        kwargs["seed"] = continued_seed(spec.seed, told)
    if spec.name == "grid":
        kwargs["search_space"] = grid_search_space(parameters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = cls(**kwargs)
    return sampler if spec.history_window is None else WindowedSampler(sampler, spec.history_window)


def build_pruner(spec: PrunerSpec) -> optuna.pruners.BasePruner:
    """The Optuna pruner for `spec` (`none` gives a pruner that never prunes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        pruner = PRUNERS[spec.name](**dict(spec.options))
    return pruner if spec.history_window is None else WindowedPruner(pruner, spec.history_window)


def sampling_order(parameters: Iterable[ParamSpec]) -> list[ParamSpec]:
    """Parameters ordered so each comes after those its `when` refers to (else config order)."""
    specs = list(parameters)
    by_name = {s.name: s for s in specs}
    done: dict[str, ParamSpec] = {}
    visiting: set[str] = set()

    def visit(spec: ParamSpec) -> None:
        if spec.name in done or spec.name in visiting:
            return  # a cycle is refused by validation; never recurse forever here
        visiting.add(spec.name)
        for cond in spec.when:
            if cond.param in by_name:
                visit(by_name[cond.param])
        visiting.discard(spec.name)
        done[spec.name] = spec

    for spec in specs:
        visit(spec)
    return list(done.values())


def suggest_params(
    trial: optuna.trial.BaseTrial, parameters: Iterable[ParamSpec] | Mapping[str, ParamSpec]
) -> dict[str, object]:
    """Sample the config's search space on `trial`; fixed values pass through, unmet `when` skip."""
    specs = list(parameters.values()) if isinstance(parameters, Mapping) else list(parameters)
    values: dict[str, object] = {}
    for spec in sampling_order(specs):
        if all(cond.holds(values) for cond in spec.when):
            values[spec.name] = _suggest_one(trial, spec)
    return {s.name: values[s.name] for s in specs if s.name in values}


def _suggest_one(trial: optuna.trial.BaseTrial, spec: ParamSpec) -> object:
    if isinstance(spec, FloatParam):
        return trial.suggest_float(spec.name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, IntParam):
        return trial.suggest_int(spec.name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, CategoricalParam):
        return trial.suggest_categorical(spec.name, list(spec.choices))
    if isinstance(spec, FixedParam):
        return _copy(spec.value)
    raise TypeError(f"not a parameter spec: {spec!r}")


def _copy(value: object) -> object:
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    return value
