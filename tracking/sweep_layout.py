"""How a sweep is laid out in the store (docs/data-model.md): tag names, metric keys, the best-trial rule.

The one home of this contract: the engine writes it, reports and the registry read it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

from tracking.entities import Run, RunStatus

__all__ = [
    "ATTEMPT",
    "BACKEND",
    "BASE_DIR",
    "BEST_RUN_ID",
    "BEST_VALUE",
    "BUDGET_TRIALS",
    "CODE_VERSION",
    "CONCURRENCY",
    "DISTRIBUTIONS",
    "GOALS",
    "INTERMEDIATE_PREFIX",
    "KIND",
    "KIND_SWEEP",
    "KIND_TRIAL",
    "METRICS",
    "NODE",
    "OBJECTIVE",
    "OBJECTIVE_PREFIX",
    "PRUNER",
    "REGISTERED",
    "SAMPLER",
    "STORE",
    "SWEEP_ID",
    "TAG_PREFIX",
    "TRIAL_NUMBER",
    "USER_ATTR_PREFIX",
    "BestKey",
    "Goal",
    "best_key",
    "best_run",
    "goal_of",
    "intermediate_key",
    "is_better",
    "metric_specs",
    "objective_key",
    "objective_value",
    "trial_name",
    "trial_number",
]

Goal = Literal["maximize", "minimize"]
GOALS: tuple[Goal, ...] = ("maximize", "minimize")

TAG_PREFIX = "sweeps."

# -- tags of both kinds of run -------------------------------------------------------------
KIND = "sweeps.kind"  # "sweep" on the parent, "trial" on each child
KIND_SWEEP = "sweep"
KIND_TRIAL = "trial"
SWEEP_ID = "sweeps.sweep_id"
BACKEND = "sweeps.backend"

# -- parent run ----------------------------------------------------------------------------
OBJECTIVE = "sweeps.objective"  # the "module:function" text
METRICS = "sweeps.metrics"  # JSON list of {"name": ..., "goal": ...}
SAMPLER = "sweeps.sampler"
PRUNER = "sweeps.pruner"
BUDGET_TRIALS = "sweeps.budget.trials"
CONCURRENCY = "sweeps.concurrency"
CODE_VERSION = "sweeps.code_version"
STORE = "sweeps.store"  # password masked
BASE_DIR = "sweeps.base_dir"
BEST_RUN_ID = "sweeps.best_run_id"
BEST_VALUE = "sweeps.best_value"
REGISTERED = "sweeps.registered"  # models:/<name>/<version>

# -- child (trial) run ---------------------------------------------------------------------
TRIAL_NUMBER = "sweeps.trial_number"
NODE = "sweeps.node"
ATTEMPT = "sweeps.attempt"
DISTRIBUTIONS = "sweeps.distributions"  # JSON {param: optuna distribution JSON}
USER_ATTR_PREFIX = "user_attr."

# -- metric keys ---------------------------------------------------------------------------
OBJECTIVE_PREFIX = "objective."  # the value(s) the objective returned, at step 0
INTERMEDIATE_PREFIX = "intermediate."  # what the objective passed to trial.report, per step

_TRIAL_NAME = re.compile(r"^trial-(\d+)$")


def objective_key(metric: str) -> str:
    return OBJECTIVE_PREFIX + metric


def intermediate_key(metric: str) -> str:
    return INTERMEDIATE_PREFIX + metric


def trial_name(number: int) -> str:
    return f"trial-{number}"


def trial_number(run: Run) -> int | None:
    """The Optuna trial number of a trial run, from its tag or its ``trial-<n>`` name."""
    raw = run.tags.get(TRIAL_NUMBER)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    match = _TRIAL_NAME.match(run.name or "")
    return int(match.group(1)) if match else None


def metric_specs(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The parent's ``sweeps.metrics`` tag as ``[{"name", "goal"}...]``; [] when absent.

    Raises ValueError when the tag is there but is not such a list.
    """
    raw = tags.get(METRICS)
    if not raw:
        return []
    try:
        specs = json.loads(raw)
        return [{"name": str(s["name"]), **({"goal": str(s["goal"])} if "goal" in s else {})} for s in specs]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(
            f'tag {METRICS} is not a JSON list of {{"name": ..., "goal": ...}} objects: {raw[:200]!r}'
        ) from exc


def goal_of(tags: Mapping[str, str], default: Goal = "maximize") -> Goal:
    """The first objective's goal recorded on a parent run (``default`` when unreadable)."""
    try:
        goal = metric_specs(tags)[0].get("goal", default)
    except (ValueError, IndexError):
        return default
    return goal if goal in GOALS else default  # type: ignore[return-value]


def objective_value(run: Run, metric: str) -> float:
    """The run's ``objective.<metric>`` value (NaN when it has none)."""
    summary = run.metrics.get(objective_key(metric))
    return summary.last if summary is not None else math.nan


# -- the best trial ------------------------------------------------------------------------


class BestKey(NamedTuple):
    """Sorts the best trial first: a real value before NaN, then by value, then lower trial number."""

    missing: int
    value: float  # "smaller is better" form
    number: float
    run_id: str


def best_key(value: float, goal: Goal, number: int | None, run_id: str) -> BestKey:
    """The one rule for "best": by value in the goal's direction; ties go to the lower trial number."""
    if math.isnan(value):
        return BestKey(1, 0.0, _number(number), run_id)
    return BestKey(0, -value if goal == "maximize" else value, _number(number), run_id)


def is_better(candidate: BestKey, incumbent: BestKey | None) -> bool:
    return incumbent is None or candidate < incumbent


def best_run(runs: Iterable[Run], metric: str, goal: Goal) -> Run | None:
    """The best FINISHED run by ``objective.<metric>`` under `best_key` (None when none has a value)."""
    keyed = [
        (best_key(objective_value(r, metric), goal, trial_number(r), r.run_id), r)
        for r in runs
        if r.status is RunStatus.FINISHED
    ]
    keyed = [(k, r) for k, r in keyed if not k.missing]
    return min(keyed, key=lambda kr: kr[0])[1] if keyed else None


def _number(number: int | None) -> float:
    return float(number) if number is not None else math.inf
