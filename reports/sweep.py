"""Reading a sweep back from the tracking store, as docs/data-model.md lays it out."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reports.errors import ReportError, SweepNotFound
from tracking import Run, TrackingClient
from tracking import sweep_layout as layout
from tracking.sweep_layout import GOALS, OBJECTIVE_PREFIX, Goal, objective_key, objective_value
from tracking.uri import mask_password

# Names that read as "lower is better" when no goal was recorded (plain runs, old sweeps).
_PLAIN_ID = re.compile(r"[\w.-]+")  # safe inside a quoted filter value
_MINIMIZE_HINTS = ("loss", "error", "err", "rmse", "mse", "mae", "time", "seconds", "latency", "duration", "regret")


@dataclass(frozen=True, slots=True)
class Objective:
    """One optimised metric and its direction; ranking reads ``objective.<name>``."""

    name: str
    goal: Goal

    @property
    def key(self) -> str:
        return objective_key(self.name)

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
    if _PLAIN_ID.fullmatch(sweep_id):
        # The parent alone, by both its tags in SQL: every trial carries the sweep id too, and
        # reading 20,000 of them to find one parent took seconds.
        kind = f"tags.`{layout.KIND}` = '{layout.KIND_SWEEP}'"
        frame = client.search_runs(
            filter=f"tags.`{layout.SWEEP_ID}` = '{sweep_id}' and {kind}",
            order_by=["attributes.start_time desc"],
            max_results=1,
        )
        if frame.height:
            return client.get_run(frame["run_id"][0])
    parents = [r for r in client.runs_with_tag(layout.SWEEP_ID, sweep_id) if _is_parent(r)]
    if not parents:
        # An unambiguous prefix names a sweep too ("digits-sgd-1a" for "digits-sgd-1a2b3c4d").
        starting = [known for known in list_sweep_ids(client) if known.startswith(sweep_id)]
        if len(starting) > 1:
            shown = ", ".join(starting[:5]) + (" ..." if len(starting) > 5 else "")
            raise SweepNotFound(f"sweep id {sweep_id!r} is ambiguous: it starts {shown}; give more characters")
        if not starting:
            raise SweepNotFound(_not_found_message(client, sweep_id))
        parents = [r for r in client.runs_with_tag(layout.SWEEP_ID, starting[0]) if _is_parent(r)]
    return parents[0]  # runs_with_tag gives the newest first


def list_sweep_ids(client: TrackingClient) -> list[str]:
    """Every sweep id in the store, sorted."""
    parents = client.runs_with_tag(layout.KIND, layout.KIND_SWEEP)
    return sorted({r.tags[layout.SWEEP_ID] for r in parents if layout.SWEEP_ID in r.tags})


def _is_parent(run: Run) -> bool:
    return run.tags.get(layout.KIND) == layout.KIND_SWEEP


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
    return sweep_of(client, find_sweep(client, sweep_id))


def sweep_of(client: TrackingClient, parent: Run, children: Sequence[Run] | None = None) -> Sweep:
    """The sweep of an already-found parent run; ``children``: its child runs, when already read."""
    if children is None:
        children = read_children(client, parent.run_id)
    trials = tuple(r for r in children if r.tags.get(layout.KIND, layout.KIND_TRIAL) == layout.KIND_TRIAL)
    experiment = client.get_experiment(parent.experiment_id).name
    return Sweep(
        sweep_id=parent.tags.get(layout.SWEEP_ID, parent.run_id),
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
    try:
        specs = layout.metric_specs(parent.tags)
    except ValueError as exc:
        raise ReportError(f"parent run {parent.run_id}: {exc}") from exc
    found = tuple(Objective.parse((s["name"], s.get("goal") or guess_goal(s["name"]))) for s in specs)
    if found:
        return found
    names = sorted({k[len(OBJECTIVE_PREFIX) :] for r in trials for k in r.metrics if k.startswith(OBJECTIVE_PREFIX)})
    if not names:
        return (Objective("value", "minimize"),)
    return tuple(Objective(n, guess_goal(n)) for n in names)


def objective_values(run: Run, objectives: tuple[Objective, ...]) -> tuple[float, ...]:
    """The run's ``objective.<name>`` values (NaN where missing), read from its summaries."""
    return tuple(objective_value(run, o.name) for o in objectives)
