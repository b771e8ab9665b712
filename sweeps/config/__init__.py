"""Sweep config (docs/config.md): load YAML or a dict, validate it, and build Optuna objects from it."""

from __future__ import annotations

from sweeps.config.loader import apply_overrides, load_config, parse_scalar
from sweeps.config.model import (
    Budget,
    CategoricalParam,
    Condition,
    Execution,
    FixedParam,
    FloatParam,
    IntParam,
    MetricSpec,
    ParamSpec,
    PrunerSpec,
    RegisterSpec,
    Repeats,
    ReportSpec,
    Resources,
    SamplerSpec,
    SweepConfig,
    WarmStart,
)
from sweeps.config.objective_ref import resolve_objective
from sweeps.config.optuna_factory import build_pruner, build_sampler, suggest_params
from sweeps.errors import ConfigError, ConfigProblem

__all__ = [
    "Budget",
    "CategoricalParam",
    "Condition",
    "ConfigError",
    "ConfigProblem",
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
    "SweepConfig",
    "WarmStart",
    "apply_overrides",
    "build_pruner",
    "build_sampler",
    "load_config",
    "parse_scalar",
    "resolve_objective",
    "suggest_params",
]
