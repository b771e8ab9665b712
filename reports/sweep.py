"""Reading a sweep back from the tracking store, as docs/data-model.md lays it out."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, select

from reports.errors import ReportError, SweepNotFound
from tracking import Run, TrackingClient
from tracking.store import schema as t
from tracking.store.engine import read_connection
from tracking.uri import mask_password

Goal = Literal["maximize", "minimize"]
GOALS: tuple[Goal, ...] = ("maximize", "minimize")

SWEEP_ID_TAG = "sweeps.sweep_id"
KIND_TAG = "sweeps.kind"
METRICS_TAG = "sweeps.metrics"
TRIAL_NUMBER_TAG = "sweeps.trial_number"
DISTRIBUTIONS_TAG = "sweeps.distributions"
OBJECTIVE_PREFIX = "objective."

# Names that read as "lower is better" when no goal was recorded (plain runs, old sweeps).
_MINIMIZE_HINTS = ("loss", "error", "err", "rmse", "mse", "mae", "time", "seconds", "latency", "duration", "regret")
_TRIAL_NAME = re.compile(r"^trial-(\d+)$")


@dataclass(frozen=True, slots=True)
class Objective:
    """One optimised metric and its direction; ranking reads ``objective.<name>``."""

    name: str
    goal: Goal

    @property
    def key(self) -> str:
        return OBJECTIVE_PREFIX + self.name

    @property
    def sign(self) -> float:
        """Multiply a value by this to get "smaller is better"."""
        return -1.0 if self.goal == "maximize" else 1.0

    @classmethod
    def parse(cls, spec: str | Objective | tuple[str, str], default_goal: Goal | None = None) -> Objective:
        """``Objective``, ``(name, goal)``, ``"name:goal"`` or ``"name"`` (goal guessed from the name)."""
        if isinstance(spec, Objective):
            return spec
        if isinstance(spec, tuple):
            name, goal = spec
        else:
            name, _, goal = spec.partition(":")
            goal = goal or default_goal or guess_goal(name)
        if goal not in GOALS:
            raise ReportError(f"metric {name!r}: goal must be 'maximize' or 'minimize', got {goal!r}")
        return cls(name, goal)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Sweep:
    """A sweep's parent run, its trial runs (in start order) and its objectives."""

    sweep_id: str
    parent: Run
    trials: tuple[Run, ...]
    objectives: tuple[Objective, ...]
    experiment: str
    store_uri: str  # password already masked

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def primary(self) -> Objective:
        return self.objectives[0]


def guess_goal(metric: str) -> Goal:
    """The likely direction of a metric with no recorded goal: losses and times go down."""
    lowered = metric.lower()
    return "minimize" if any(hint in lowered for hint in _MINIMIZE_HINTS) else "maximize"


def find_sweep(client: TrackingClient, sweep_id: str) -> Run:
    """The parent run of ``sweep_id`` (the newest one if, oddly, several carry the id)."""
    runs, tags = t.runs, t.tags
    id_tag, kind_tag = tags.alias("id_tag"), tags.alias("kind_tag")
    stmt = (
        select(runs.c.run_id)
        .join(id_tag, and_(id_tag.c.run_id == runs.c.run_id, id_tag.c.key == SWEEP_ID_TAG))
        .join(kind_tag, and_(kind_tag.c.run_id == runs.c.run_id, kind_tag.c.key == KIND_TAG))
        .where(and_(id_tag.c.value == sweep_id, kind_tag.c.value == "sweep"))
        .order_by(runs.c.start_time.desc(), runs.c.run_id)
        .limit(1)
    )
    client.flush()
    with read_connection(client.store.engine) as conn:
        run_id = conn.execute(stmt).scalar_one_or_none()
    if run_id is None:
        raise SweepNotFound(_not_found_message(client, sweep_id))
    return client.get_run(run_id)


def list_sweep_ids(client: TrackingClient) -> list[str]:
    """Every sweep id in the store, sorted."""
    tags = t.tags
    kind_tag = tags.alias("kind_tag")
    stmt = (
        select(tags.c.value)
        .join(kind_tag, and_(kind_tag.c.run_id == tags.c.run_id, kind_tag.c.key == KIND_TAG))
        .where(and_(tags.c.key == SWEEP_ID_TAG, kind_tag.c.value == "sweep"))
        .distinct()
    )
    with read_connection(client.store.engine) as conn:
        return sorted(conn.execute(stmt).scalars().all())


def _not_found_message(client: TrackingClient, sweep_id: str) -> str:
    known = list_sweep_ids(client)
    store = mask_password(client.uri)
    message = f"no sweep with id {sweep_id!r} in store {store}"
    close = difflib.get_close_matches(sweep_id, known, n=3)
    if close:
        return f"{message}; did you mean {', '.join(close)}?"
    if not known:
        return f"{message}, which holds no sweeps; pass --store or set $SWEEPS_STORE to the store the sweep wrote to"
    return f"{message}; `sweeps list` shows the {len(known)} sweep(s) it holds"


def load_sweep(client: TrackingClient, sweep_id: str) -> Sweep:
    """The parent and trial runs of ``sweep_id``; one query batch, no metric histories."""
    parent = find_sweep(client, sweep_id)
    children = read_children(client, parent.run_id)
    trials = tuple(r for r in children if r.tags.get(KIND_TAG, "trial") == "trial")
    experiment = client.store.get_experiment(parent.experiment_id).name
    return Sweep(
        sweep_id=sweep_id,
        parent=parent,
        trials=trials,
        objectives=objectives_of(parent, trials),
        experiment=experiment,
        store_uri=mask_password(client.uri),
    )


def read_children(client: TrackingClient, parent_run_id: str) -> list[Run]:
    """The child runs of a parent, in start order, with params, tags and metric summaries."""
    return client.child_runs(parent_run_id)


def objectives_of(parent: Run, trials: tuple[Run, ...] | list[Run]) -> tuple[Objective, ...]:
    """The sweep's objectives from the parent's ``sweeps.metrics`` tag, else from the trials' keys."""
    raw = parent.tags.get(METRICS_TAG)
    if raw:
        try:
            specs = json.loads(raw)
            found = tuple(Objective.parse((str(s["name"]), str(s.get("goal", guess_goal(s["name"]))))) for s in specs)
        except (ValueError, TypeError, KeyError) as exc:
            raise ReportError(
                f"parent run {parent.run_id}: tag {METRICS_TAG} is not a JSON list of "
                f'{{"name": ..., "goal": ...}} objects: {raw[:200]!r}'
            ) from exc
        if found:
            return found
    names = sorted({k[len(OBJECTIVE_PREFIX):] for r in trials for k in r.metrics if k.startswith(OBJECTIVE_PREFIX)})
    if not names:
        return (Objective("value", "minimize"),)
    return tuple(Objective(n, guess_goal(n)) for n in names)


def trial_number(run: Run) -> int | None:
    """The Optuna trial number of a trial run, from its tag or its ``trial-<n>`` name."""
    raw = run.tags.get(TRIAL_NUMBER_TAG)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    match = _TRIAL_NAME.match(run.name or "")
    return int(match.group(1)) if match else None


def objective_values(run: Run, objectives: tuple[Objective, ...]) -> tuple[float, ...]:
    """The run's ``objective.<name>`` values (NaN where missing), read from its summaries."""
    out = []
    for objective in objectives:
        summary = run.metrics.get(objective.key)
        out.append(summary.last if summary is not None else float("nan"))
    return tuple(out)
