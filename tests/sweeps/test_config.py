"""Tests of the sweep config: loading, validation messages with lines, overrides, Optuna objects."""

from __future__ import annotations

import copy
import math
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sweeps.config
from sweeps.config import (
    CategoricalParam,
    ConfigError,
    ConfigProblem,
    FixedParam,
    FloatParam,
    IntParam,
    PrunerSpec,
    SamplerSpec,
    SweepConfig,
    apply_overrides,
    build_pruner,
    build_sampler,
    load_config,
    optuna_factory,
    parse_scalar,
    resolve_objective,
    suggest_params,
)
from sweeps.config.loader import MAX_YAML_VALUES
from sweeps.config.optuna_factory import PRUNERS, SAMPLERS, grid_search_space
from sweeps.config.validate import MAX_CONCURRENCY, MAX_RETRIES, MAX_SEED, MAX_TIMEOUT_S, MAX_TRIALS
from sweeps.errors import SweepsError

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPEC_EXAMPLE = """\
name: digits-sgd                       # sweep name (not unique; each run gets an id)
experiment: digits                     # tracking experiment, created on first use
objective: sweeps.examples.digits:train_sgd   # "module:function" or "path/to/file.py:function"
metric: {name: val_accuracy, goal: maximize}  # goal: maximize | minimize
# multi-objective instead of metric:
# metrics: [{name: val_accuracy, goal: maximize}, {name: fit_seconds, goal: minimize}]
parameters:
  alpha:    {type: float, low: 1.0e-6, high: 1.0e-1, log: true}
  penalty:  {type: categorical, choices: [l2, l1, elasticnet]}
  l1_ratio: {type: float, low: 0.0, high: 1.0, when: {penalty: elasticnet}}  # conditional
  epochs:   {type: int, low: 5, high: 50, step: 5}
  seed: 0                              # a plain value is fixed, passed through
sampler: {name: tpe, seed: 42}         # tpe | random | grid | cmaes | qmc | nsga2 | gp, plus their options
pruner:  {name: median, n_warmup_steps: 3}   # none | median | percentile | hyperband | successive_halving | threshold
budget:  {trials: 60, timeout_s: 900, max_failures: 10}
execution:
  backend: ray                         # ray (default) | local (in-process, sequential; for debugging)
  address: null                        # null: start a local Ray; "auto" or "ray://host:port": join a cluster
  concurrency: 2                       # trials in flight
  resources: {cpu: 1, gpu: 0}          # per trial
  retries: 1                           # re-runs of a trial whose worker died
  trial_timeout_s: null
store: null                            # null: $SWEEPS_STORE, else sqlite:///sweeps.db in the working dir
artifacts: null                        # null: $SWEEPS_ARTIFACTS, else ./artifacts; any fsspec URL allowed
register: {model: digits-sgd, alias: challenger}   # omit to skip registration
report:   {output: reports/digits-sgd.html, top_k: 10}  # omit for the default path
tags: {team: vision, data_version: "2026-11"}
"""

# Three lines every small config starts with; test snippets begin on line 4.
HEAD = """\
name: t
objective: mod:fn
metric: {name: acc, goal: maximize}
"""


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refuse(tmp_path: Path, text: str, overrides: Sequence[str] = ()) -> ConfigError:
    """The ConfigError raised for a YAML text (a test fails if it loads)."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), overrides)
    return info.value


def find(err: ConfigError, path: str) -> ConfigProblem:
    matches = [p for p in err.problems if p.path == path]
    assert matches, f"no problem at {path!r}; got:\n{err}"
    return matches[0]


def assert_problem(err: ConfigError, path: str, line: int | None, *fragments: str) -> None:
    problem = find(err, path)
    assert problem.line == line, f"{problem} (expected line {line})"
    for fragment in fragments:
        assert fragment in problem.message, f"{fragment!r} not in {problem.message!r}"


# ---------------------------------------------------------------------------------------------
# The SPEC example and the model


def test_spec_example_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SPEC_EXAMPLE))
    assert cfg.name == "digits-sgd" and cfg.experiment == "digits"
    assert cfg.objective == "sweeps.examples.digits:train_sgd"
    assert cfg.metric.name == "val_accuracy" and cfg.directions == ["maximize"]
    assert not cfg.is_multi_objective
    params = cfg.param_map
    assert params["alpha"] == FloatParam("alpha", 1e-6, 0.1, log=True)
    assert params["penalty"] == CategoricalParam("penalty", ("l2", "l1", "elasticnet"))
    assert params["l1_ratio"].when[0].param == "penalty"
    assert params["epochs"] == IntParam("epochs", 5, 50, step=5)
    assert params["seed"] == FixedParam("seed", 0)
    assert cfg.sampler == SamplerSpec("tpe", seed=42)
    assert cfg.pruner == PrunerSpec("median", {"n_warmup_steps": 3})
    assert (cfg.budget.trials, cfg.budget.timeout_s, cfg.budget.max_failures) == (60, 900, 10)
    assert cfg.execution.backend == "ray" and cfg.execution.address is None
    assert cfg.execution.resources.cpu == 1 and cfg.execution.resources.gpu == 0
    assert cfg.register is not None and cfg.register.alias == "challenger"
    assert cfg.report.output == "reports/digits-sgd.html" and cfg.report.top_k == 10
    assert cfg.tags == {"team": "vision", "data_version": "2026-11"}
    assert cfg.source == str(tmp_path / "sweep.yaml") and cfg.base_dir == str(tmp_path.resolve())


def test_to_dict_is_plain_and_round_trips(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SPEC_EXAMPLE))
    data = cfg.to_dict()
    assert data["parameters"]["l1_ratio"] == {  # type: ignore[index]
        "type": "float",
        "low": 0.0,
        "high": 1.0,
        "when": {"penalty": "elasticnet"},
    }
    assert data["sampler"] == {"name": "tpe", "seed": 42}
    assert load_config(data) == cfg
    assert load_config(cfg) is cfg
    assert load_config(cfg, ["budget.trials=5"]).budget.trials == 5


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HEAD))
    assert cfg.experiment == "t"
    assert cfg.parameters == ()
    assert cfg.sampler.name == "tpe" and cfg.pruner.name == "median"
    assert cfg.budget.trials == 20 and cfg.budget.timeout_s is None
    assert cfg.execution.backend == "ray" and cfg.execution.concurrency == 2
    assert cfg.execution.retries == 1 and cfg.execution.trial_timeout_s is None
    assert cfg.register is None and cfg.report.top_k == 10 and cfg.report.output is None


def test_multi_objective_defaults_to_nsga2_without_pruner(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """\
            name: m
            objective: mod:fn
            metrics: [{name: acc, goal: maximize}, {name: secs, goal: minimize}]
            """,
        )
    )
    assert cfg.is_multi_objective and cfg.directions == ["maximize", "minimize"]
    assert cfg.sampler.name == "nsga2" and cfg.pruner.name == "none"
    assert "metrics" in cfg.to_dict() and "metric" not in cfg.to_dict()


def test_public_names_are_pinned() -> None:
    assert set(sweeps.config.__all__) == {
        "Budget", "CategoricalParam", "Condition", "ConfigError", "ConfigProblem", "Execution",
        "FixedParam", "FloatParam", "IntParam", "MetricSpec", "ParamSpec", "PrunerSpec",
        "RegisterSpec", "Repeats", "ReportSpec", "Resources", "SamplerSpec", "SweepConfig", "WarmStart",
        "apply_overrides", "build_pruner", "build_sampler", "load_config", "parse_scalar",
        "resolve_objective", "suggest_params",
    }  # fmt: skip
    assert issubclass(ConfigError, SweepsError)


# ---------------------------------------------------------------------------------------------
# Error rendering


def test_error_str_lists_every_problem_with_file_and_line(tmp_path: Path) -> None:
    err = refuse(tmp_path, HEAD + "budget: {trials: -3}\nexecution: {concurrency: 0}\n")
    text = str(err)
    path = tmp_path / "sweep.yaml"
    assert f"{path}:4: budget.trials: expected a positive integer, got -3" in text
    assert f"{path}:5: execution.concurrency: expected a positive integer, got 0" in text
    assert text.startswith("invalid sweep config (2 problems)")


def test_single_problem_renders_as_one_line() -> None:
    problem = ConfigProblem("budget.trials", "expected a positive integer, got -3", 12, "configs/x.yaml")
    assert str(ConfigError([problem])) == "configs/x.yaml:12: budget.trials: expected a positive integer, got -3"
    assert str(ConfigProblem("a.b", "bad")) == "a.b: bad"


def test_all_problems_are_collected(tmp_path: Path) -> None:
    err = refuse(
        tmp_path,
        """\
        objective: nocolon
        metric: {name: acc, goal: up}
        budget: {trials: 0, timeout_s: -1, max_failures: -2}
        """,
    )
    paths = {p.path for p in err.problems}
    assert {"name", "objective", "metric.goal", "budget.trials", "budget.timeout_s"} <= paths
    assert "budget.max_failures" in paths


# ---------------------------------------------------------------------------------------------
# Top-level rules

TOP_CASES: list[tuple[str, str, str, int, tuple[str, ...]]] = [
    ("bugdet", "bugdet: {trials: 3}\n", "bugdet", 4, ("unknown key", "did you mean 'budget'?")),
    ("nested unknown", "budget: {trails: 3}\n", "budget.trails", 4, ("did you mean 'trials'?",)),
    ("no suggestion", "zzzzzz: 1\n", "zzzzzz", 4, ("unknown key", "expected one of")),
    ("trials", "budget: {trials: -3}\n", "budget.trials", 4, ("positive integer", "-3")),
    ("trials bool", "budget: {trials: true}\n", "budget.trials", 4, ("got true",)),
    ("trials str", "budget: {trials: '20'}\n", "budget.trials", 4, ("got '20'",)),
    ("timeout", "budget: {timeout_s: 0}\n", "budget.timeout_s", 4, ("positive number or null",)),
    ("failures", "budget: {max_failures: -1}\n", "budget.max_failures", 4, ("non-negative",)),
    ("backend", "execution: {backend: rey}\n", "execution.backend", 4, ("ray | local", "'ray'")),
    ("address", "execution: {address: 'http://x'}\n", "execution.address", 4, ('"auto"',)),
    ("port", "execution: {address: 'h:70000'}\n", "execution.address", 4, ("host:port",)),
    ("concurrency", "execution: {concurrency: 0}\n", "execution.concurrency", 4, ("positive",)),
    ("cpu", "execution:\n  resources: {cpu: -1}\n", "execution.resources.cpu", 5, ("non-negative",)),
    ("gpus", "execution:\n  resources: {gpus: 1}\n", "execution.resources.gpus", 5, ("'gpu'",)),
    ("retries", "execution: {retries: -1}\n", "execution.retries", 4, ("non-negative",)),
    ("trial timeout", "execution: {trial_timeout_s: -5}\n", "execution.trial_timeout_s", 4, ("positive",)),
    ("model name", "register: {model: 'a b'}\n", "register.model", 4, ("model name",)),
    ("alias", "register: {model: m, alias: 'x.y'}\n", "register.alias", 4, ("alias",)),
    ("top_k", "report: {top_k: 0}\n", "report.top_k", 4, ("positive integer",)),
    ("tag list", "tags: {a: [1]}\n", "tags.a", 4, ("string or number",)),
    ("tag null", "tags: {a: null}\n", "tags.a", 4, ("got null",)),
    ("store", "store: 3\n", "store", 4, ("string or null",)),
    ("experiment", "experiment: ''\n", "experiment", 4, ("non-empty string",)),
    ("duplicate key", "budget: {trials: 1}\nbudget: {trials: 2}\n", "budget", 5, ("duplicate key",)),
]


@pytest.mark.parametrize(("case", "extra", "path", "line", "fragments"), TOP_CASES, ids=[c[0] for c in TOP_CASES])
def test_top_level_rules(
    tmp_path: Path, case: str, extra: str, path: str, line: int, fragments: tuple[str, ...]
) -> None:
    assert_problem(refuse(tmp_path, HEAD + extra), path, line, *fragments)


def test_missing_required_keys_point_at_the_document(tmp_path: Path) -> None:
    err = refuse(tmp_path, "experiment: e\n")
    for path in ("name", "objective", "metric"):
        assert_problem(err, path, 1, "required")


@pytest.mark.parametrize(
    ("metrics", "path", "line", "fragment"),
    [
        ("metric: {name: a, goal: maximise}", "metric.goal", 3, "did you mean 'maximize'?"),
        ("metric: {name: a}", "metric.goal", 3, "required key is missing"),
        ("metric: {name: a, goal: minimize}\nmetrics: []", "metrics", 4, "not both"),
        ("metrics: [{name: a, goal: maximize}]", "metrics", 3, "2 or more"),
        ("metrics: [{name: a, goal: maximize}, {name: a, goal: minimize}]", "metrics[1].name", 3, "duplicate"),
        ("metrics:\n  - {name: a, goal: maximize}\n  - {name: b, goal: up}", "metrics[1].goal", 5, "maximize"),
    ],
)
def test_metric_rules(tmp_path: Path, metrics: str, path: str, line: int, fragment: str) -> None:
    err = refuse(tmp_path, f"name: t\nobjective: m:f\n{metrics}\n")
    assert_problem(err, path, line, fragment)


@pytest.mark.parametrize("objective", ["pkg.mod:fn", "pkg.mod:Cls.method", "path/to/file.py:fn", "C:/x/f.py:g"])
def test_objective_formats_accepted(objective: str) -> None:
    cfg = load_config({"name": "t", "objective": objective, "metric": {"name": "a", "goal": "minimize"}})
    assert cfg.objective == objective


@pytest.mark.parametrize("objective", ["nocolon", "mod:", ":fn", "mod:1fn", "bad-mod:fn", "a b:fn"])
def test_objective_formats_refused(objective: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"name": "t", "objective": objective, "metric": {"name": "a", "goal": "minimize"}})
    assert find(info.value, "objective").line is None


def test_register_shorthands_and_tag_strings(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HEAD + "register: true\ntags: {n: 3, f: 0.5, b: true}\n"))
    assert cfg.register is not None and (cfg.register.model, cfg.register.alias) == ("t", "challenger")
    assert cfg.tags == {"n": "3", "f": "0.5", "b": "true"}
    cfg = load_config(write(tmp_path, HEAD + "register: my.model\n"))
    assert cfg.register is not None and cfg.register.model == "my.model"
    assert load_config(write(tmp_path, HEAD + "register: null\n")).register is None


@pytest.mark.parametrize("address", [None, "auto", "ray://head:10001", "10.0.0.1:6379", "[::1]:6379"])
def test_addresses_accepted(address: str | None) -> None:
    data = {"name": "t", "objective": "m:f", "metric": {"name": "a", "goal": "minimize"}}
    cfg = load_config({**data, "execution": {"address": address, "backend": "local"}})
    assert cfg.execution.address == address and cfg.execution.backend == "local"


# ---------------------------------------------------------------------------------------------
# Parameters

PARAM_CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("float low>=high", "{type: float, low: 1, high: 1}", "parameters.p.low", ("less than high",)),
    ("float log low", "{type: float, low: 0, high: 1, log: true}", "parameters.p.low", ("> 0", "log")),
    ("float step<=0", "{type: float, low: 0, high: 1, step: 0}", "parameters.p.step", ("positive",)),
    ("float log+step", "{type: float, low: 1, high: 2, log: true, step: 0.5}", "parameters.p.step", ("log",)),
    ("float inf", "{type: float, low: -.inf, high: 1}", "parameters.p.low", ("finite",)),
    ("float str bound", "{type: float, low: a, high: 1}", "parameters.p.low", ("number", "'a'")),
    ("float missing", "{type: float, low: 0}", "parameters.p.high", ("required",)),
    ("log not bool", "{type: float, low: 1, high: 2, log: yes please}", "parameters.p.log", ("true or false",)),
    ("float tiny step", "{type: float, low: 0, high: 1e10, step: 1e-10}", "parameters.p.step", ("too small",)),
    ("float huge range", "{type: float, low: -1.0e308, high: 1.0e308}", "parameters.p.high", ("range too large",)),
    ("int low>high", "{type: int, low: 5, high: 1}", "parameters.p.low", ("must not exceed",)),
    ("int float bound", "{type: int, low: 0.5, high: 3}", "parameters.p.low", ("integer",)),
    ("int step", "{type: int, low: 0, high: 3, step: 0}", "parameters.p.step", ("positive integer",)),
    ("int log low", "{type: int, low: 0, high: 3, log: true}", "parameters.p.low", (">= 1",)),
    ("int log step", "{type: int, low: 1, high: 9, log: true, step: 2}", "parameters.p.step", ("step 1",)),
    ("cat empty", "{type: categorical, choices: []}", "parameters.p.choices", ("non-empty",)),
    ("cat dup", "{type: categorical, choices: [a, b, a]}", "parameters.p.choices[2]", ("duplicate",)),
    ("cat 1 vs 1.0", "{type: categorical, choices: [1, 1.0]}", "parameters.p.choices[1]", ("duplicate",)),
    ("cat nested", "{type: categorical, choices: [a, [b]]}", "parameters.p.choices[1]", ("strings, numbers",)),
    ("cat not list", "{type: categorical, choices: a}", "parameters.p.choices", ("list",)),
    ("no type", "{low: 0, high: 1}", "parameters.p", ("needs `type:", "fixed value")),
    ("bad type", "{type: flaot, low: 0, high: 1}", "parameters.p.type", ("did you mean 'float'?",)),
    ("typo key", "{type: categorical, choises: [a]}", "parameters.p.choises", ("did you mean 'choices'?",)),
    ("float key on cat", "{type: categorical, choices: [a], low: 1}", "parameters.p.low", ("unknown key",)),
]


@pytest.mark.parametrize(("case", "spec", "path", "fragments"), PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_parameter_rules(tmp_path: Path, case: str, spec: str, path: str, fragments: tuple[str, ...]) -> None:
    err = refuse(tmp_path, HEAD + f"parameters:\n  other: 1\n  p: {spec}\n")
    assert_problem(err, path, 6, *fragments)


def test_parameter_problem_on_its_own_line(tmp_path: Path) -> None:
    text = HEAD + "parameters:\n  alpha:\n    type: float\n    low: 1\n    high: 0.5\n"
    assert_problem(refuse(tmp_path, text), "parameters.alpha.low", 7, "less than high")


WHEN_CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("unknown ref", "when: {penalt: l1}", "parameters.r.when.penalt", ("unknown parameter", "'penalty'")),
    ("self ref", "when: {r: 1}", "parameters.r.when.r", ("itself",)),
    ("bad choice", "when: {penalty: elasticnett}", "parameters.r.when.penalty", ("not a choice", "'elasticnet'")),
    ("bad choice in list", "when: {penalty: [l1, l3]}", "parameters.r.when.penalty", ("'l3' is not a choice",)),
    ("fixed never", "when: {seed: 1}", "parameters.r.when.seed", ("never holds", "fixed to 0")),
    ("not mapping", "when: penalty", "parameters.r.when", ("mapping like",)),
    ("empty list", "when: {penalty: []}", "parameters.r.when.penalty", ("non-empty list",)),
]


@pytest.mark.parametrize(("case", "when", "path", "fragments"), WHEN_CASES, ids=[c[0] for c in WHEN_CASES])
def test_when_rules(tmp_path: Path, case: str, when: str, path: str, fragments: tuple[str, ...]) -> None:
    text = HEAD + (
        "parameters:\n"
        "  penalty: {type: categorical, choices: [l2, l1, elasticnet]}\n"
        "  seed: 0\n"
        f"  r: {{type: float, low: 0, high: 1, {when}}}\n"
    )
    assert_problem(refuse(tmp_path, text), path, 7, *fragments)


def test_when_cycle(tmp_path: Path) -> None:
    text = HEAD + (
        "parameters:\n"
        "  a: {type: categorical, choices: [x, y], when: {b: 1}}\n"
        "  b: {type: int, low: 0, high: 3, when: {a: x}}\n"
    )
    err = refuse(tmp_path, text)
    cycles = [p for p in err.problems if "cycle" in p.message]
    assert len(cycles) == 1 and "a -> b -> a" in cycles[0].message and cycles[0].line == 5


def test_fixed_params_scalars_and_lists(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HEAD + "parameters:\n  layers: [64, 32]\n  name: x\n  none: null\n"))
    assert cfg.param_map["layers"] == FixedParam("layers", [64, 32])
    assert cfg.param_map["none"] == FixedParam("none", None)


# ---------------------------------------------------------------------------------------------
# Samplers and pruners


def test_sampler_name_and_options(tmp_path: Path) -> None:
    err = refuse(tmp_path, HEAD + "sampler: {name: tpee}\n")
    assert_problem(err, "sampler.name", 4, "did you mean 'tpe'?")
    err = refuse(tmp_path, HEAD + "sampler: {name: tpe, n_startup: 3}\n")
    assert_problem(err, "sampler.n_startup", 4, "unknown option for tpe", "'n_startup_trials'")
    err = refuse(tmp_path, HEAD + "sampler: {name: tpe, n_startup_trials: ten}\n")
    assert_problem(err, "sampler.n_startup_trials", 4, "expected int", "'ten'")
    err = refuse(tmp_path, HEAD + "sampler: {name: tpe, gamma: x}\n")
    assert_problem(err, "sampler.gamma", 4, "Python object")
    err = refuse(tmp_path, HEAD + "sampler: {name: random, seed: -1}\n")
    assert_problem(err, "sampler.seed", 4, "non-negative integer")
    err = refuse(tmp_path, HEAD + "sampler: {name: qmc, qmc_type: bogus}\n")
    assert_problem(err, "sampler", 4, "Optuna refused", "qmc_type")


def test_sampler_string_shorthand_and_options_kept(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, HEAD + "sampler: random\n")).sampler == SamplerSpec("random")
    cfg = load_config(write(tmp_path, HEAD + "sampler: {name: tpe, multivariate: true, n_startup_trials: 5}\n"))
    assert cfg.sampler.options == {"multivariate": True, "n_startup_trials": 5}


def test_grid_needs_float_steps_and_a_bounded_size(tmp_path: Path) -> None:
    text = HEAD + "sampler: grid\nparameters:\n  a: {type: float, low: 0, high: 1}\n  b: {type: int, low: 0, high: 4}\n"
    assert_problem(refuse(tmp_path, text), "parameters.a", 6, "grid sampler needs a `step`")
    text = HEAD + "sampler: grid\nparameters:\n  a: {type: int, low: 0, high: 1000000}\n"
    assert_problem(refuse(tmp_path, text), "sampler.name", 4, "grid has")
    text = HEAD + "sampler: {name: grid, search_space: {}}\n"
    assert_problem(refuse(tmp_path, text), "sampler.search_space", 4, "built from `parameters`")


def test_cmaes_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna_factory, "SAMPLER_REQUIREMENTS", {})
    text = HEAD + "sampler: cmaes\nparameters:\n  c: {type: categorical, choices: [a, b]}\n  x: 1\n"
    assert_problem(refuse(tmp_path, text), "parameters.c", 6, "only float and int")
    multi = "name: t\nobjective: m:f\nmetrics: [{name: a, goal: maximize}, {name: b, goal: minimize}]\n"
    assert_problem(refuse(tmp_path, multi + "sampler: cmaes\n"), "sampler.name", 4, "several metrics")
    cfg = load_config(write(tmp_path, HEAD + "sampler: {name: cmaes, popsize: 8}\n"))
    assert cfg.sampler.options == {"popsize": 8}


def test_sampler_missing_package_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna_factory, "SAMPLER_REQUIREMENTS", {"gp": ("no_such_pkg_xyz", "pip install it")})
    assert_problem(refuse(tmp_path, HEAD + "sampler: gp\n"), "sampler.name", 4, "no_such_pkg_xyz", "pip install")


def test_gp_allowed_for_multi_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna_factory, "SAMPLER_REQUIREMENTS", {})
    metrics = [{"name": "a", "goal": "maximize"}, {"name": "b", "goal": "minimize"}]
    cfg = load_config({"name": "t", "objective": "m:f", "metrics": metrics, "sampler": "gp"})
    assert cfg.sampler.name == "gp"


PRUNER_CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("unknown", "pruner: {name: medain}", "pruner.name", ("did you mean 'median'?",)),
    ("percentile", "pruner: {name: percentile}", "pruner.percentile", ("required option",)),
    ("threshold", "pruner: {name: threshold}", "pruner", ("`lower` or `upper`",)),
    ("option", "pruner: {name: median, n_warmup: 3}", "pruner.n_warmup", ("'n_warmup_steps'",)),
    ("option type", "pruner: {name: median, n_warmup_steps: 1.5}", "pruner.n_warmup_steps", ("expected int",)),
    ("refused", "pruner: {name: percentile, percentile: 150}", "pruner", ("Optuna refused", "between 0 and 100")),
    ("no name", "pruner: {n_warmup_steps: 2}", "pruner.name", ("required",)),
]


@pytest.mark.parametrize(("case", "extra", "path", "fragments"), PRUNER_CASES, ids=[c[0] for c in PRUNER_CASES])
def test_pruner_rules(tmp_path: Path, case: str, extra: str, path: str, fragments: tuple[str, ...]) -> None:
    assert_problem(refuse(tmp_path, HEAD + extra + "\n"), path, 4, *fragments)


def test_pruner_refused_for_multi_objective(tmp_path: Path) -> None:
    text = "name: t\nobjective: m:f\nmetrics: [{name: a, goal: maximize}, {name: b, goal: minimize}]\n"
    assert_problem(refuse(tmp_path, text + "pruner: median\n"), "pruner", 4, "multi-objective")
    assert load_config(write(tmp_path, text + "pruner: none\n")).pruner.name == "none"
    assert load_config(write(tmp_path, HEAD + "pruner: null\n")).pruner.name == "none"


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_build_each_sampler(name: str) -> None:
    params = [IntParam("n", 1, 3), CategoricalParam("c", ("a", "b")), FloatParam("x", 0.0, 1.0, step=0.5)]
    sampler = build_sampler(SamplerSpec(name, seed=1), params)
    assert isinstance(sampler, SAMPLERS[name])


def test_grid_sampler_enumerates_the_space() -> None:
    params = [IntParam("n", 1, 5, step=2), CategoricalParam("c", ("a", "b")), FloatParam("x", 0.0, 1.0, step=0.5)]
    assert grid_search_space(params) == {"n": [1, 3, 5], "c": ["a", "b"], "x": [0.0, 0.5, 1.0]}
    study = optuna.create_study(sampler=build_sampler(SamplerSpec("grid"), params))
    seen: set[tuple[tuple[str, object], ...]] = set()

    def objective(trial: optuna.Trial) -> float:
        seen.add(tuple(sorted(suggest_params(trial, params).items())))
        return 0.0

    # GridSampler stops the study once the grid is exhausted (inside optimize only).
    study.optimize(objective, n_trials=30)
    assert len(seen) == 18


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("none", {}),
        ("median", {"n_warmup_steps": 3}),
        ("percentile", {"percentile": 25.0}),
        ("hyperband", {"min_resource": 1, "max_resource": 9}),
        ("successive_halving", {"reduction_factor": 3}),
        ("threshold", {"lower": 0.1}),
    ],
)
def test_build_each_pruner(name: str, options: dict[str, object]) -> None:
    assert isinstance(build_pruner(PrunerSpec(name, options)), PRUNERS[name])
    load_config(
        {
            "name": "t",
            "objective": "m:f",
            "metric": {"name": "a", "goal": "minimize"},
            "pruner": {"name": name, **options},
        }
    )


# ---------------------------------------------------------------------------------------------
# Overrides and environment


@pytest.mark.parametrize(
    ("text", "value"),
    [("20", 20), ("1e-3", 0.001), ("1.5", 1.5), ("true", True), ("null", None), ("[a, b]", ["a", "b"]),
     ("tpe", "tpe"), ("'20'", "20"), ("2026-11-01", "2026-11-01"), ("", None)],
)  # fmt: skip
def test_parse_scalar(text: str, value: object) -> None:
    assert parse_scalar(text) == value and type(parse_scalar(text)) is type(value)


def test_overrides_are_typed(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE)
    cfg = load_config(
        path,
        [
            "budget.trials=20",
            "sampler.seed=1",
            "parameters.alpha.low=1e-5",
            "execution.backend=local",
            "parameters.penalty.choices=[l1, l2]",
            "parameters.l1_ratio.when.penalty=l1",
            "register.alias=candidate",
            "tags.owner=me",
        ],
    )
    assert cfg.budget.trials == 20 and cfg.sampler.seed == 1
    assert cfg.param_map["alpha"].low == 1e-5  # type: ignore[union-attr]
    assert cfg.execution.backend == "local"
    assert cfg.param_map["penalty"].choices == ("l1", "l2")  # type: ignore[union-attr]
    assert cfg.register is not None and cfg.register.alias == "candidate"
    assert cfg.tags["owner"] == "me"


def test_override_mapping_and_new_sections(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HEAD), {"budget.trials": 7, "execution.resources.gpu": 0.5})
    assert cfg.budget.trials == 7 and cfg.execution.resources.gpu == 0.5
    data = {"name": "t", "metrics": [{"name": "a", "goal": "maximize"}, {"name": "b", "goal": "maximize"}]}
    out = apply_overrides(data, ["metrics.1.goal=minimize", "objective=m:f"])
    assert out["metrics"][1]["goal"] == "minimize" and out["objective"] == "m:f"  # type: ignore[index]
    assert data["metrics"][1]["goal"] == "maximize"  # type: ignore[index]


def test_bad_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["budget.trials"])
    assert "key.path=value" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["name.first=x"])
    assert "is not a mapping" in str(info.value)
    with pytest.raises(ConfigError) as info:
        apply_overrides({"m": [1]}, ["m.3=x"])
    assert "no index" in str(info.value)


def test_override_problems_point_at_set_not_the_file(tmp_path: Path) -> None:
    err = refuse(tmp_path, HEAD + "budget: {trials: 3}\n", ["budget.trials=-3"])
    problem = find(err, "budget.trials")
    assert problem.source == "--set" and problem.line is None
    assert str(problem) == "--set: budget.trials: expected a positive integer, got -3"


def test_env_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_TEAM", "vision")
    monkeypatch.setenv("SWEEP_DB", "/data/x.db")
    monkeypatch.delenv("SWEEP_UNSET", raising=False)
    text = HEAD + (
        "store: sqlite:///${SWEEP_DB}\n"
        "tags: {team: '${SWEEP_TEAM}', other: '${SWEEP_UNSET:-fallback}', price: '$$5', raw: $HOME}\n"
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.store == "sqlite:////data/x.db"
    assert cfg.tags == {"team": "vision", "other": "fallback", "price": "$5", "raw": "$HOME"}


def test_unset_env_is_named_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEP_MISSING", raising=False)
    err = refuse(tmp_path, HEAD + "report:\n  output: ${SWEEP_MISSING}/r.html\n")
    assert_problem(err, "report.output", 5, "SWEEP_MISSING", "not set")


def test_yaml12_floats_and_dates_stay_strings(tmp_path: Path) -> None:
    text = HEAD + "parameters:\n  lr: {type: float, low: 1e-5, high: 1e-1, log: true}\ntags: {day: 2026-11-01}\n"
    cfg = load_config(write(tmp_path, text))
    assert cfg.param_map["lr"] == FloatParam("lr", 1e-5, 0.1, log=True)
    assert cfg.tags == {"day": "2026-11-01"}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [("name: [unclosed\n", 2, "invalid YAML"), ("", None, "empty"), ("- a\n- b\n", 1, "mapping")],
)
def test_document_level_problems(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    err = refuse(tmp_path, text)
    assert err.problems[0].line == line and fragment in err.problems[0].message


def test_anchors_merge_keys_and_extension_keys(tmp_path: Path) -> None:
    text = HEAD + "x-common: &common {trials: 3, timeout_s: 60}\nbudget:\n  <<: *common\n  trials: 5\n"
    cfg = load_config(write(tmp_path, text))
    assert (cfg.budget.trials, cfg.budget.timeout_s) == (5, 60)
    err = refuse(tmp_path, HEAD + "tags: &x {a: *x}\n")
    assert_problem(err, "tags.a", 4, "recursive alias")


BILLION_LAUGHS = """\
name: lol
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
tags: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.timeout(10)  # before the bound, this expanded 387 million values at +100 MB/s
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.source == str(path) and problem.line is not None
    assert f"more than {MAX_YAML_VALUES:,} values" in problem.message and "alias" in problem.message


@pytest.mark.timeout(10)
def test_an_alias_bomb_in_an_override_is_refused(tmp_path: Path) -> None:
    bomb = "[" + ", ".join(["&a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + ["*a"] * 9) + "]"
    for depth in "bcdefgh":
        bomb = f"[&{depth} {bomb}, " + ", ".join([f"*{depth}"] * 9) + "]"
    with pytest.raises(ConfigError, match=f"more than {MAX_YAML_VALUES:,} values"):
        load_config(write(tmp_path, SPEC_EXAMPLE), [f"tags.x={bomb}"])


def test_a_config_with_many_values_still_loads(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(20_000))
    text = SPEC_EXAMPLE.replace("seed: 0      ", f"seed: [{values}]")
    cfg = load_config(write(tmp_path, text))
    assert len(cfg.param_map["seed"].value) == 20_000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00g\x00a\x00r\x00b\x00", bytes(range(256)), b"name: caf\xe9\n"],
    ids=["utf16", "bytes", "latin1"],
)
def test_a_file_that_is_not_utf8_is_a_config_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.source == str(path) and "not UTF-8 text" in problem.message


def test_yaml_nested_too_deeply_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "tags: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.source == str(path) and "too deeply" in problem.message


@pytest.mark.parametrize(
    ("override", "path", "bound"),
    [
        ("budget.trials=100000000000000000000000000000", "budget.trials", "at most 10,000,000"),
        ("execution.concurrency=100000000000000000000", "execution.concurrency", "at most 10,000"),
        ("execution.retries=1000000", "execution.retries", "at most 100"),
        ("budget.max_failures=100000000000", "budget.max_failures", "at most 10,000,000"),
        ("sampler.seed=100000000000", "sampler.seed", "at most 4,294,967,295"),
        ("budget.timeout_s=1e300", "budget.timeout_s", "at most 31,622,400"),
        ("execution.trial_timeout_s=1e20", "execution.trial_timeout_s", "at most 31,622,400"),
    ],
)
def test_counts_and_timeouts_past_their_bound_are_refused_naming_it(
    tmp_path: Path, override: str, path: str, bound: str
) -> None:
    err = refuse(tmp_path, SPEC_EXAMPLE, [override])
    problem = find(err, path)
    assert bound in problem.message, problem


def test_counts_at_their_bound_load(tmp_path: Path) -> None:
    overrides = [f"budget.trials={MAX_TRIALS}", f"execution.concurrency={MAX_CONCURRENCY}", "execution.retries=100"]
    cfg = load_config(write(tmp_path, SPEC_EXAMPLE), overrides)
    assert (cfg.budget.trials, cfg.execution.concurrency) == (MAX_TRIALS, MAX_CONCURRENCY)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


# ---------------------------------------------------------------------------------------------
# suggest_params on a real study


def test_suggest_params_honours_the_space(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SPEC_EXAMPLE))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    penalties = set()
    for _ in range(60):
        trial = study.ask()
        params = suggest_params(trial, cfg.parameters)
        assert 1e-6 <= params["alpha"] <= 0.1  # type: ignore[operator]
        assert params["epochs"] in range(5, 51, 5)
        assert params["seed"] == 0 and "seed" not in trial.params
        assert ("l1_ratio" in params) == (params["penalty"] == "elasticnet")
        if "l1_ratio" in params:
            assert 0.0 <= params["l1_ratio"] <= 1.0  # type: ignore[operator]
        assert list(params) == [n for n in ("alpha", "penalty", "l1_ratio", "epochs", "seed") if n in params]
        penalties.add(params["penalty"])
        study.tell(trial, 0.5)
    assert penalties == {"l2", "l1", "elasticnet"}
    alphas = [t.params["alpha"] for t in study.trials]
    # log-uniform over 5 decades: a good share of draws land below 1e-3
    assert sum(a < 1e-3 for a in alphas) > 20
    dist = study.trials[0].distributions["alpha"]
    assert isinstance(dist, optuna.distributions.FloatDistribution) and dist.log


def test_suggest_params_orders_dependencies_and_lists() -> None:
    params = [
        FloatParam("lr_decay", 0.1, 0.9, step=0.1, when=(sweeps.config.Condition("opt", ("sgd", "momentum")),)),
        CategoricalParam("opt", ("sgd", "momentum", "adam")),
        IntParam("units", 16, 256, log=True),
        FixedParam("layers", [64, 32]),
    ]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        values = suggest_params(trial, {p.name: p for p in params})
        assert ("lr_decay" in values) == (values["opt"] in ("sgd", "momentum"))
        if "lr_decay" in values:
            k = round(values["lr_decay"] / 0.1)  # type: ignore[operator]
            assert math.isclose(values["lr_decay"], k * 0.1)  # type: ignore[arg-type]
        assert 16 <= values["units"] <= 256  # type: ignore[operator]
        assert values["layers"] == [64, 32]
        study.tell(trial, 1.0)


def test_conditions_on_a_fixed_param() -> None:
    cfg = load_config(
        {
            "name": "t",
            "objective": "m:f",
            "metric": {"name": "a", "goal": "minimize"},
            "parameters": {"model": "svm", "C": {"type": "float", "low": 0.1, "high": 1, "when": {"model": "svm"}}},
        }
    )
    trial = optuna.create_study().ask()
    assert set(suggest_params(trial, cfg.parameters)) == {"model", "C"}


# ---------------------------------------------------------------------------------------------
# resolve_objective


def test_resolve_objective_module_and_file(tmp_path: Path) -> None:
    assert resolve_objective("os.path:join") is __import__("os").path.join
    (tmp_path / "helper_mod_xyz.py").write_text("FACTOR = 3\n")
    (tmp_path / "obj.py").write_text(
        "from helper_mod_xyz import FACTOR\n\nclass K:\n    @staticmethod\n    def run(t):\n        return FACTOR\n"
    )
    fn = resolve_objective("obj.py:K.run", tmp_path)
    assert fn(None) == 3


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("no_such_module_xyz:fn", "module 'no_such_module_xyz' not found"),
        ("os.path:jion", "did you mean 'join'?"),
        ("os:sep", "not a function"),
        ("missing.py:fn", "not found"),
        ("broken.py:fn", "raised ZeroDivisionError"),
        ("justtext", "module:function"),
    ],
)
def test_resolve_objective_errors(tmp_path: Path, spec: str, fragment: str) -> None:
    (tmp_path / "broken.py").write_text("1 / 0\n")
    with pytest.raises(ConfigError) as info:
        resolve_objective(spec, tmp_path)
    assert fragment in str(info.value) and info.value.problems[0].path == "objective"


# ---------------------------------------------------------------------------------------------
# Property tests: any mutation of a valid config loads or is refused with ConfigError only

VALID: dict[str, object] = {
    "name": "digits-sgd",
    "objective": "sweeps.examples.digits:train_sgd",
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "parameters": {
        "alpha": {"type": "float", "low": 1e-6, "high": 1e-1, "log": True},
        "penalty": {"type": "categorical", "choices": ["l2", "l1", "elasticnet"]},
        "l1_ratio": {"type": "float", "low": 0.0, "high": 1.0, "when": {"penalty": "elasticnet"}},
        "epochs": {"type": "int", "low": 5, "high": 50, "step": 5},
        "seed": 0,
    },
    "sampler": {"name": "tpe", "seed": 42},
    "pruner": {"name": "median", "n_warmup_steps": 3},
    "budget": {"trials": 60, "timeout_s": 900, "max_failures": 10},
    "execution": {"backend": "ray", "address": None, "concurrency": 2, "resources": {"cpu": 1, "gpu": 0}},
    "register": {"model": "digits-sgd", "alias": "challenger"},
    "report": {"output": "reports/x.html", "top_k": 10},
    "tags": {"team": "vision"},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["tpe", "grid", "cmaes", "nsga2", "maximize", "float", "int", "categorical", "${X}", "auto"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
numbers = st.one_of(
    st.integers(-100, 100),
    st.integers(-(10**400), 10**400),
    st.floats(-1e3, 1e3),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: dict[str, object], path: tuple[object, ...]) -> object:
    node: object = data
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    return node


@st.composite
def mutated_configs(draw: Callable[..., object]) -> dict[str, object]:
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):  # type: ignore[arg-type]
        paths = _paths(data)
        kind = draw(st.sampled_from(["drop", "replace", "unknown", "bound"]))
        if kind == "bound":
            param = draw(st.sampled_from(["alpha", "l1_ratio", "epochs"]))
            spec = data["parameters"].get(param) if isinstance(data.get("parameters"), dict) else None  # type: ignore[union-attr]
            if isinstance(spec, dict):
                spec[draw(st.sampled_from(["low", "high", "step"]))] = draw(numbers)
            continue
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        if kind == "drop" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif kind == "replace":
            parent[path[-1]] = draw(junk)  # type: ignore[index]
        elif kind == "unknown":
            target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent  # type: ignore[index]
            if isinstance(target, dict):
                target[draw(st.text(min_size=1, max_size=10))] = draw(junk)
    return data


def _check_loads_or_refuses(data: dict[str, object]) -> None:
    try:
        cfg = load_config(data, environ={})
    except ConfigError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.path and problem.message
        return
    assert isinstance(cfg, SweepConfig)
    if "$" not in repr(data):  # `$$` in a value is a `$` after loading: not a fixed point
        assert load_config(cfg.to_dict(), environ={}) == cfg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_mutated_configs_never_crash(data: dict[str, object]) -> None:
    _check_loads_or_refuses(data)


@pytest.mark.filterwarnings("ignore:The distribution is specified by")
@settings(max_examples=100, deadline=None)
@given(
    low=numbers,
    high=numbers,
    step=st.one_of(st.none(), numbers),
    log=st.booleans(),
    kind=st.sampled_from(["float", "int"]),
)
def test_random_bounds_load_or_refuse(low: object, high: object, step: object, log: bool, kind: str) -> None:
    data = copy.deepcopy(VALID)
    data["parameters"] = {"p": {"type": kind, "low": low, "high": high, "step": step, "log": log}}
    if step is None and kind == "int":
        del data["parameters"]["p"]["step"]  # type: ignore[index]
    _check_loads_or_refuses(data)
    try:
        cfg = load_config(data)
    except ConfigError:
        return
    # a config that loads can be sampled without Optuna complaining
    trial = optuna.create_study().ask()
    value = suggest_params(trial, cfg.parameters)["p"]
    assert low <= value <= high  # type: ignore[operator]


# Every numeric key of the config, with the most a loaded config may hold there.
NUMERIC_KEYS: dict[tuple[str, ...], float] = {
    ("budget", "trials"): MAX_TRIALS,
    ("budget", "timeout_s"): MAX_TIMEOUT_S,
    ("budget", "max_failures"): MAX_TRIALS,
    ("execution", "concurrency"): MAX_CONCURRENCY,
    ("execution", "retries"): MAX_RETRIES,
    ("execution", "trial_timeout_s"): MAX_TIMEOUT_S,
    ("execution", "resources", "cpu"): math.inf,
    ("execution", "resources", "gpu"): math.inf,
    ("sampler", "seed"): MAX_SEED,
    ("report", "top_k"): math.inf,
}


@settings(max_examples=200, deadline=None)
@given(values=st.dictionaries(st.sampled_from(sorted(NUMERIC_KEYS)), numbers | st.integers(), min_size=1))
def test_random_numbers_in_every_numeric_key_load_within_bounds_or_refuse(
    values: dict[tuple[str, ...], object],
) -> None:
    data = copy.deepcopy(VALID)
    for path, value in values.items():
        _parent(data, path)[path[-1]] = value  # type: ignore[index]
    _check_loads_or_refuses(data)
    try:
        cfg = load_config(data)
    except ConfigError:
        return
    loaded = cfg.to_dict()
    for path, bound in NUMERIC_KEYS.items():
        value = _parent(loaded, path)[path[-1]]  # type: ignore[index]
        assert value is None or value <= bound, (path, value)
