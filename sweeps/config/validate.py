"""Check raw config data against docs/config.md and build a SweepConfig, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sweeps.config import optuna_factory as factory
from sweeps.config.checks import Checker, describe
from sweeps.config.model import (
    DEFAULT_ALIAS,
    Budget,
    CategoricalParam,
    Execution,
    FloatParam,
    IntParam,
    MetricSpec,
    ParamSpec,
    PrunerSpec,
    RegisterSpec,
    ReportSpec,
    Resources,
    SamplerSpec,
    SweepConfig,
)
from sweeps.config.params import check_parameters
from sweeps.config.search import check_enqueue, check_repeats, check_warm_start
from sweeps.errors import ConfigError

if TYPE_CHECKING:
    from sweeps.config.loader import KeyPath, RawConfig

__all__ = ["MAX_CONCURRENCY", "MAX_RETRIES", "MAX_SEED", "MAX_TIMEOUT_S", "MAX_TRIALS", "validate"]

# Upper bounds of counts and times: far past any real sweep, and low enough that the driver
# can hold its per-trial and per-worker state (README "Limits of a config").
MAX_TRIALS = 10_000_000  # budget.trials and budget.max_failures
MAX_CONCURRENCY = 10_000  # execution.concurrency: workers the driver starts and tracks
MAX_RETRIES = 100  # execution.retries
MAX_SEED = 2**32 - 1  # sampler.seed: numpy's seed range, which Optuna's samplers use
MAX_TIMEOUT_S = 366 * 24 * 3600  # budget.timeout_s, execution.trial_timeout_s: timers take no more

TOP_KEYS = (
    "name",
    "experiment",
    "objective",
    "metric",
    "metrics",
    "parameters",
    "sampler",
    "pruner",
    "budget",
    "execution",
    "store",
    "artifacts",
    "register",
    "report",
    "tags",
    "enqueue",
    "warm_start",
    "repeats",
)
GOALS = ("maximize", "minimize")
BACKENDS = ("ray", "local")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_IDENT}(?:\.{_IDENT})*")
_MODEL_NAME = re.compile(r"[\w.-]+")
_ALIAS = re.compile(r"[\w-]+")
_ADDRESS = re.compile(r"(?:ray://)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})")


def validate(raw: RawConfig) -> SweepConfig:
    """The SweepConfig for `raw`, or ConfigError listing every problem found."""
    c = Checker(raw)
    # Top-level `x-...` keys are free for YAML anchors (the docker-compose convention).
    data = {k: v for k, v in raw.data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    top = c.mapping((), data, TOP_KEYS, required=("name", "objective")) or {}
    name = c.get(top, "name", (), c.string)
    experiment = c.get(top, "experiment", (), c.string, default=name)
    objective = c.get(top, "objective", (), _objective(c))
    metrics = _metrics(c, top)
    multi = len(metrics) > 1
    parameters = check_parameters(c, top.get("parameters"))
    sampler = _sampler(c, top.get("sampler"), multi, parameters)
    pruner = _pruner(c, top, multi)
    budget = _budget(c, top.get("budget"))
    execution = _execution(c, top.get("execution"))
    store = c.get(top, "store", (), lambda p, v: c.string(p, v, nullable=True))
    artifacts = c.get(top, "artifacts", (), lambda p, v: c.string(p, v, nullable=True))
    register = _register(c, top.get("register"), name)
    report = _report(c, top.get("report"))
    tags = _tags(c, top.get("tags"))
    enqueue = check_enqueue(c, top.get("enqueue"), parameters)
    warm_start = check_warm_start(c, top.get("warm_start"))
    repeats = check_repeats(c, top.get("repeats"), parameters)
    if budget is not None and budget.target is not None and multi:
        c.error(("budget", "target"), "a target needs one metric; a multi-objective sweep has no single best")
    if not c.problems and sampler is not None and pruner is not None:
        _try_build(c, sampler, pruner, parameters)
    if c.problems:
        raise ConfigError(sorted(c.problems, key=lambda p: (p.line is None, p.line or 0)))
    return SweepConfig(
        name=name,
        experiment=experiment,
        objective=objective,  # type: ignore[arg-type]
        metrics=tuple(metrics),
        parameters=tuple(parameters),
        sampler=sampler,
        pruner=pruner,
        budget=budget,
        execution=execution,  # type: ignore[arg-type]
        store=store,
        artifacts=artifacts,
        register=register,  # type: ignore[arg-type]
        report=report,
        tags=tags,
        enqueue=enqueue,
        warm_start=warm_start,
        repeats=repeats,
        source=raw.source,
        base_dir=raw.base_dir,  # type: ignore[arg-type]
    )


def _objective(c: Checker) -> Callable[[KeyPath, object], str | None]:
    def check(path: KeyPath, value: object) -> str | None:
        expected = "expected 'module:function' or 'path/to/file.py:function'"
        if not isinstance(value, str):
            c.error(path, f"{expected}, got {describe(value)}")
            return None
        target, _, fn = value.strip().rpartition(":")
        # the module part is a dotted name, like the function part, unless it is a .py file path
        target_ok = target.endswith(".py") or _DOTTED.fullmatch(target)
        if not target or not target_ok or not _DOTTED.fullmatch(fn):
            c.error(path, f"{expected}, got {describe(value)}")
            return None
        return value.strip()

    return check


def _metric(c: Checker, path: KeyPath, value: object) -> MetricSpec | None:
    d = c.mapping(path, value, ("name", "goal"), required=("name", "goal"))
    if d is None:
        return None
    name = c.get(d, "name", path, c.string)
    goal = c.get(d, "goal", path, lambda p, v: c.choice(p, v, GOALS))
    return MetricSpec(name, goal) if name and goal else None  # type: ignore[arg-type]


def _metrics(c: Checker, top: dict[str, object]) -> list[MetricSpec]:
    if "metric" in top and "metrics" in top:
        c.error(("metrics",), "give either `metric` (one objective) or `metrics`, not both")
        return []
    if "metric" in top:
        one = _metric(c, ("metric",), top["metric"])
        return [one] if one else []
    if "metrics" not in top:
        c.error(("metric",), "required key is missing (or `metrics` for multi-objective)")
        return []
    value = top["metrics"]
    if not isinstance(value, list) or len(value) < 2:
        got = f"{len(value)} item(s)" if isinstance(value, list) else describe(value)
        c.error(("metrics",), f"expected a list of 2 or more metrics (use `metric` for one), got {got}")
        return []
    found = [_metric(c, ("metrics", i), item) for i, item in enumerate(value)]
    seen: set[str] = set()
    for i, metric in enumerate(found):
        if metric is not None and metric.name in seen:
            c.error(("metrics", i, "name"), f"duplicate metric name '{metric.name}'")
        elif metric is not None:
            seen.add(metric.name)
    return [m for m in found if m is not None]


def _named_spec(c: Checker, path: KeyPath, value: object) -> dict[str, object] | None:
    """A `{name: ..., options...}` mapping, also written as just the name."""
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        c.error(path, f"expected a name or a mapping, got {describe(value)}")
        return None
    return {k if isinstance(k, str) else str(k): v for k, v in value.items()}


def _sampler(c: Checker, value: object, multi: bool, parameters: list[ParamSpec]) -> SamplerSpec | None:
    path: KeyPath = ("sampler",)
    d = {} if value is None else _named_spec(c, path, value)
    if d is None:
        return None
    name = c.choice((*path, "name"), d.get("name", "nsga2" if multi else "tpe"), tuple(factory.SAMPLERS))
    seed = c.get(d, "seed", path, lambda p, v: c.integer(p, v, minimum=0, nullable=True, maximum=MAX_SEED))
    if name is None:
        return None
    options = {k: v for k, v in d.items() if k not in ("name", "seed", "history_window")}
    window = _history_window(c, path, d, refused=name in ("grid", "qmc", "random"))
    for option, message in factory.option_problems(factory.SAMPLERS[name], options, name):
        c.error((*path, option), message)
    if multi and name not in factory.MULTI_OBJECTIVE_SAMPLERS:
        ok = ", ".join(sorted(factory.MULTI_OBJECTIVE_SAMPLERS))
        c.error((*path, "name"), f"'{name}' cannot optimize several metrics; use one of: {ok}")
    missing = factory.missing_requirement(name)
    if missing:
        c.error((*path, "name"), missing)
    if name == "grid":
        _check_grid(c, parameters)
    for spec in parameters:
        if name == "cmaes" and isinstance(spec, CategoricalParam):
            c.error(
                ("parameters", spec.name),
                "the cmaes sampler samples only float and int parameters; "
                "fix this one or use another sampler (tpe, gp)",
            )
    return SamplerSpec(name=name, seed=seed, options=options, history_window=window)  # type: ignore[arg-type]


def _check_grid(c: Checker, parameters: list[ParamSpec]) -> None:
    total = 1
    for spec in parameters:
        if isinstance(spec, FloatParam) and spec.step is None:
            c.error(("parameters", spec.name), "the grid sampler needs a `step` for float parameters")
        elif isinstance(spec, CategoricalParam):
            total *= len(spec.choices)
        elif isinstance(spec, FloatParam | IntParam):
            total *= factory.grid_size(spec)
    if total > factory.MAX_GRID_POINTS:
        shown = total if total < 10**15 else "over 10**15"
        limit = factory.MAX_GRID_POINTS
        c.error(
            ("sampler", "name"), f"the grid has {shown} points (at most {limit}); use larger steps or fewer choices"
        )


def _pruner(c: Checker, top: dict[str, object], multi: bool) -> PrunerSpec | None:
    path: KeyPath = ("pruner",)
    if "pruner" not in top:
        return PrunerSpec("none" if multi else "median")
    value = top["pruner"]
    d = {"name": "none"} if value is None else _named_spec(c, path, value)
    if d is None:
        return None
    if "name" not in d:
        c.error((*path, "name"), f"required key is missing ({' | '.join(factory.PRUNERS)})")
        return None
    name = c.choice((*path, "name"), d["name"], tuple(factory.PRUNERS))
    if name is None:
        return None
    options = {k: v for k, v in d.items() if k not in ("name", "history_window")}
    window = _history_window(c, path, d, refused=name == "none")
    for option, message in factory.option_problems(factory.PRUNERS[name], options, name):
        c.error((*path, option), message)
    if name == "threshold" and options.get("lower") is None and options.get("upper") is None:
        c.error(path, "the threshold pruner needs `lower` or `upper`")
    if multi and name != "none":
        c.error(
            path,
            "pruning is not supported for multi-objective sweeps (Optuna cannot "
            "prune trials with several metrics); remove `pruner` or set it to none",
        )
    return PrunerSpec(name=name, options=options, history_window=window)


def _history_window(c: Checker, path: KeyPath, d: dict[str, object], *, refused: bool) -> int | None:
    """`history_window`: how many of the latest trials a sampler or pruner reads (null: all)."""
    window = c.get(
        d, "history_window", path, lambda p, v: c.integer(p, v, minimum=1, nullable=True, maximum=MAX_TRIALS)
    )
    if window is not None and refused:
        c.error((*path, "history_window"), f"'{d.get('name')}' reads no history; remove history_window")
        return None
    return window


def _budget(c: Checker, value: object) -> Budget | None:
    path: KeyPath = ("budget",)
    d = {} if value is None else c.mapping(path, value, ("trials", "timeout_s", "max_failures", "target"))
    if d is None:
        return None
    return Budget(
        trials=c.get(d, "trials", path, lambda p, v: c.integer(p, v, minimum=1, maximum=MAX_TRIALS), 20),
        timeout_s=c.get(d, "timeout_s", path, lambda p, v: _timeout(c, p, v)),
        max_failures=c.get(
            d, "max_failures", path, lambda p, v: c.integer(p, v, minimum=0, nullable=True, maximum=MAX_TRIALS)
        ),
        target=c.get(d, "target", path, lambda p, v: c.number(p, v, nullable=True)),
    )  # type: ignore[arg-type]


def _timeout(c: Checker, path: KeyPath, value: object) -> float | None:
    return c.number(path, value, True, nullable=True, maximum=MAX_TIMEOUT_S)


def _address(c: Checker, path: KeyPath, value: object) -> str | None:
    if value is None or value == "auto":
        return value
    match = _ADDRESS.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 0 < int(match["port"]) < 65536:
        c.error(path, f'expected null, "auto", "host:port" or "ray://host:port", got {describe(value)}')
        return None
    return value  # type: ignore[return-value]


def _execution(c: Checker, value: object) -> Execution | None:
    path: KeyPath = ("execution",)
    keys = ("backend", "address", "concurrency", "resources", "retries", "trial_timeout_s")
    d = {} if value is None else c.mapping(path, value, keys)
    if d is None:
        return None
    resources = Resources()
    if d.get("resources") is not None:
        r = c.mapping((*path, "resources"), d["resources"], ("cpu", "gpu"))
        rpath: KeyPath = (*path, "resources")
        if r is not None:
            resources = Resources(
                cpu=c.get(r, "cpu", rpath, lambda p, v: c.number(p, v, non_negative=True), 1),
                gpu=c.get(r, "gpu", rpath, lambda p, v: c.number(p, v, non_negative=True), 0),
            )  # type: ignore[arg-type]
    return Execution(
        backend=c.get(d, "backend", path, lambda p, v: c.choice(p, v, BACKENDS), "ray"),
        address=c.get(d, "address", path, lambda p, v: _address(c, p, v)),
        concurrency=c.get(d, "concurrency", path, lambda p, v: c.integer(p, v, minimum=1, maximum=MAX_CONCURRENCY), 2),
        resources=resources,
        retries=c.get(d, "retries", path, lambda p, v: c.integer(p, v, minimum=0, maximum=MAX_RETRIES), 1),
        trial_timeout_s=c.get(d, "trial_timeout_s", path, lambda p, v: _timeout(c, p, v)),
    )  # type: ignore[arg-type]


def _register(c: Checker, value: object, sweep_name: object) -> RegisterSpec | None:
    path: KeyPath = ("register",)
    if value is None or value is False:
        return None
    if value is True:
        d: dict[str, object] | None = {}
    elif isinstance(value, str):
        d = {"model": value}  # `register: my-model` names the model, default alias
    else:
        d = c.mapping(path, value, ("model", "alias"))
    if d is None:
        return None
    what = r"a model name of letters, digits, '_', '.' or '-'"
    if "model" in d:
        model = c.string((*path, "model"), d["model"], pattern=_MODEL_NAME, what=what)
    elif isinstance(sweep_name, str) and _MODEL_NAME.fullmatch(sweep_name):
        model = sweep_name
    else:
        model = None
        if isinstance(sweep_name, str):
            c.error(
                (*path, "model"),
                f"defaults to the sweep name {sweep_name!r}, which is not a valid model name; set register.model",
            )
    alias = c.get(
        d,
        "alias",
        path,
        lambda p, v: c.string(p, v, pattern=_ALIAS, what="an alias of letters, digits, '_', '-'"),
        DEFAULT_ALIAS,
    )
    return RegisterSpec(model=model, alias=alias) if model and alias else None  # type: ignore[arg-type]


def _report(c: Checker, value: object) -> ReportSpec | None:
    path: KeyPath = ("report",)
    d = {} if value is None else c.mapping(path, value, ("output", "top_k"))
    if d is None:
        return None
    return ReportSpec(
        output=c.get(d, "output", path, lambda p, v: c.string(p, v, nullable=True)),
        top_k=c.get(d, "top_k", path, lambda p, v: c.integer(p, v, minimum=1), 10),
    )  # type: ignore[arg-type]


def _tags(c: Checker, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.error(("tags",), f"expected a mapping of tag names to values, got {describe(value)}")
        return {}
    tags: dict[str, str] = {}
    for key, item in value.items():
        path: KeyPath = ("tags", key if isinstance(key, str) else str(key))
        if not isinstance(key, str) or not key.strip():
            c.error(path, f"tag names must be non-empty strings, got {describe(key)}")
        elif isinstance(item, bool):
            tags[key] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            tags[key] = str(item)
        else:
            c.error(path, f"expected a string or number, got {describe(item)}")
    return tags


def _try_build(c: Checker, sampler: SamplerSpec, pruner: PrunerSpec, parameters: list[ParamSpec]) -> None:
    # Optuna's constructors check ranges the signatures cannot express (seed, percentile...).
    for path, build in (
        (("sampler",), lambda: factory.build_sampler(sampler, parameters)),
        (("pruner",), lambda: factory.build_pruner(pruner)),
    ):
        try:
            build()
        except Exception as exc:  # any refusal by Optuna is a config problem
            c.error(path, f"Optuna refused it: {exc or type(exc).__name__}")
