"""Synthetic sweeps written through the tracking client exactly as docs/data-model.md stores them."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)
from sqlalchemy import update

import tracking
from tests.support.server import database_behind
from tracking.store import schema as t
from tracking.store.engine import write_transaction
from tracking.store.sql_store import SqlStore
from tracking.uri import mask_password

XSS = '<img src=x onerror="window.__xss=1">'

MIXED_SPACE: dict[str, BaseDistribution] = {
    "alpha": FloatDistribution(1e-5, 1e-1, log=True),
    "penalty": CategoricalDistribution(["l2", "l1", "elasticnet"]),
    "epochs": IntDistribution(5, 50, step=5),
}
MULTI_OBJECTIVE = (("val_accuracy", "maximize"), ("fit_seconds", "minimize"))
CATEGORICAL_SPACE: dict[str, BaseDistribution] = {
    "penalty": CategoricalDistribution(["l2", "l1", "elasticnet"]),
    "loss": CategoricalDistribution(["hinge", "log_loss", "modified_huber"]),
}


@dataclass(frozen=True)
class SyntheticSweep:
    sweep_id: str
    parent_run_id: str
    trial_run_ids: tuple[str, ...]
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSet:
    """The sweeps of the shared test store."""

    uri: str
    artifacts: str
    mixed: SyntheticSweep
    seeds: SyntheticSweep
    multi: SyntheticSweep
    categorical: SyntheticSweep
    one: SyntheticSweep
    failed: SyntheticSweep
    xss: SyntheticSweep
    bare: SyntheticSweep  # no sweeps.distributions tag: the space is inferred


def make_sweep(
    client: tracking.TrackingClient,
    *,
    sweep_id: str = "demo-0a1b2c3d",
    name: str = "demo",
    experiment: str = "demo",
    n_trials: int = 12,
    steps: int = 10,
    space: dict[str, BaseDistribution] | None = None,
    objectives: Sequence[tuple[str, str]] = (("val_accuracy", "maximize"),),
    pruned: float = 0.2,
    failed: float = 0.1,
    seeds: int = 1,
    store_distributions: bool = True,
    trial_name: Callable[[int], str] | None = None,
    xss: bool = False,
    random_seed: int = 0,
    realistic_times: bool = True,
    finish: bool = True,
) -> SyntheticSweep:
    """A sweep of ``n_trials`` trials; ``seeds > 1`` repeats each param set with seeds 0..seeds-1.

    ``finish=False`` leaves the parent RUNNING, as during a sweep.
    """
    rng = random.Random(random_seed)
    space = MIXED_SPACE if space is None else space
    metrics = [{"name": n, "goal": g} for n, g in objectives]
    parent_tags = {
        "sweeps.kind": "sweep",
        "sweeps.sweep_id": sweep_id,
        "sweeps.objective": "tests.synthetic:objective",
        "sweeps.metrics": json.dumps(metrics),
        "sweeps.sampler": "tpe",
        "sweeps.pruner": "median",
        "sweeps.budget.trials": str(n_trials),
        "sweeps.concurrency": "2",
        "sweeps.code_version": "0123456789abcdef0123456789abcdef01234567",
        "sweeps.store": mask_password(client.uri),
        "team": XSS if xss else "vision",
    }
    parent_params = {"sampler.name": "tpe", "budget.trials": n_trials, "pruner.name": "median"}
    parent = client.start_run(experiment, XSS if xss else name, tags=parent_tags, params=parent_params)
    parent.log_text(_config_yaml(name, experiment, objectives, space, n_trials, xss), "config.yaml")
    parent.log_dict(
        {
            "python": "3.11.9",
            "platform": "Linux-x86_64",
            "git_commit": parent_tags["sweeps.code_version"],
            "packages": {"optuna": optuna.__version__, "polars": "1.0.0", "evil": XSS if xss else "0.1"},
        },
        "environment.json",
    )
    distributions = json.dumps({k: distribution_to_json(d) for k, d in space.items()})
    run_ids: list[str] = []
    statuses: dict[str, str] = {}
    best: tuple[float, str] | None = None
    param_sets = max(1, math.ceil(n_trials / seeds))
    sampled = [_sample(space, rng) for _ in range(param_sets)]
    for number in range(n_trials):
        params = dict(sampled[number // seeds])
        if seeds > 1 or "seed" not in params:
            params["seed"] = number % seeds if seeds > 1 else 0
        tags = {
            "sweeps.kind": "trial",
            "sweeps.sweep_id": sweep_id,
            "sweeps.trial_number": str(number),
            "sweeps.node": "node-1",
            "sweeps.attempt": "0",
        }
        if store_distributions:
            tags["sweeps.distributions"] = distributions
        if xss:
            tags["note"] = XSS
        run_name = trial_name(number) if trial_name else (XSS if xss and number == 0 else f"trial-{number}")
        roll = rng.random()
        status = "FAILED" if roll < failed else "PRUNED" if roll < failed + pruned else "FINISHED"
        with client.start_run(experiment, run_name, tags=tags, params=params, parent=parent) as run:
            finals = _objective_values(params, objectives, rng)
            last_step = steps - 1 if status == "FINISHED" else rng.randrange(max(1, steps // 2))
            for step in range(last_step + 1):
                progress = 1.0 - math.exp(-(step + 1) / max(steps / 4, 1))
                run.log_metrics(
                    {
                        objectives[0][0]: finals[0] * progress + rng.gauss(0, 0.003),
                        "train_loss": (1.0 - finals[0]) / max(progress, 1e-3) + rng.gauss(0, 0.01),
                    },
                    step=step,
                )
            if status == "FAILED":
                run.end("FAILED", _traceback(number, xss))
            else:
                values = finals if status == "FINISHED" else [finals[0] * 0.8, *finals[1:]]
                run.log_metrics({f"objective.{n}": v for (n, _), v in zip(objectives, values, strict=True)}, step=0)
                if status == "PRUNED":
                    run.end("PRUNED")
                elif best is None or _better(values[0], best[0], objectives[0][1]):
                    best = (values[0], run.run_id)
        run_ids.append(run.run_id)
        statuses[run.run_id] = status
    if best is not None:
        parent.set_tags({"sweeps.best_run_id": best[1], "sweeps.best_value": repr(best[0])})
    if finish:
        parent.end("FINISHED" if best is not None else "FAILED")
    client.flush()
    if realistic_times:
        _spread_times(client, parent.run_id, run_ids, rng)
    return SyntheticSweep(sweep_id, parent.run_id, tuple(run_ids), statuses)


def _sample(space: dict[str, BaseDistribution], rng: random.Random) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            out[key] = rng.choice(dist.choices)
        elif isinstance(dist, IntDistribution):
            out[key] = rng.randrange(dist.low, dist.high + 1, dist.step)
        elif isinstance(dist, FloatDistribution) and dist.log:
            out[key] = math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
        elif isinstance(dist, FloatDistribution):
            out[key] = rng.uniform(dist.low, dist.high)
    return out


def _objective_values(
    params: dict[str, object], objectives: Sequence[tuple[str, str]], rng: random.Random
) -> list[float]:
    alpha = float(params.get("alpha", 1e-3))  # type: ignore[arg-type]
    accuracy = 0.93 - 0.02 * abs(math.log10(alpha) + 3.0)
    accuracy += {"l2": 0.02, "l1": 0.0, "elasticnet": 0.01}.get(str(params.get("penalty")), 0.0)
    accuracy += {"hinge": 0.0, "log_loss": 0.015, "modified_huber": 0.005}.get(str(params.get("loss")), 0.0)
    accuracy += rng.gauss(0.0, 0.004)
    values = [accuracy]
    for _name, _goal in objectives[1:]:
        values.append(float(params.get("epochs", 10)) * 0.1 + rng.random())  # type: ignore[arg-type]
    return values


def _better(a: float, b: float, goal: str) -> bool:
    return a > b if goal == "maximize" else a < b


def _traceback(number: int, xss: bool) -> str:
    detail = XSS if xss else "diverged"
    return (
        "Traceback (most recent call last):\n"
        '  File "objective.py", line 12, in objective\n'
        "    loss = step(model)\n"
        f"FloatingPointError: trial {number} {detail}\n"
    )


def _config_yaml(
    name: str, experiment: str, objectives: Sequence[tuple[str, str]], space: dict, n: int, xss: bool
) -> str:
    lines = [f"name: {name}", f"experiment: {experiment}", "objective: tests.synthetic:objective"]
    lines.append("metrics: [" + ", ".join(f"{{name: {m}, goal: {g}}}" for m, g in objectives) + "]")
    lines.append("parameters:")
    lines += [f"  {k}: {{type: {type(d).__name__}}}" for k, d in space.items()]
    lines.append(f"budget: {{trials: {n}}}")
    lines.append("store: postgresql+psycopg://alice:s3cret@db.example/sweeps")
    if xss:
        lines.append(f"tags: {{note: '{XSS}'}}")
    return "\n".join(lines) + "\n"


def _spread_times(client: tracking.TrackingClient, parent_id: str, run_ids: Sequence[str], rng: random.Random) -> None:
    # Runs created in a loop all end within milliseconds; give them the durations of a real
    # sweep (two at a time, 5-60 s each) so that durations and "earlier finish" mean something.
    start = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    lanes = [start, start]
    # Test-only backdating: a store of its own on the same database (no client internals).
    store = SqlStore(database_behind(client.uri))  # over HTTP: the server's database
    with write_transaction(store.engine) as conn:
        for run_id in run_ids:
            lane = lanes.index(min(lanes))
            begin = lanes[lane] + rng.randrange(0, 500)
            end = begin + rng.randrange(5_000, 60_000)
            lanes[lane] = end
            conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(start_time=begin, end_time=end))
        parent = update(t.runs).where(t.runs.c.run_id == parent_id, t.runs.c.status != "RUNNING")
        conn.execute(parent.values(start_time=start, end_time=max(lanes)))
    store.close()
