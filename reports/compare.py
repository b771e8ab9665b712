"""Side-by-side comparison of any runs: params (differing first), final/best metrics, curves by step."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from reports.errors import RunsNotFound
from reports.sweep import Goal, guess_goal
from tracking import Metric, Run, TrackingClient
from tracking import sweep_layout as layout
from tracking.sweep_layout import OBJECTIVE_PREFIX, trial_number

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CURVES = 12  # metric keys drawn as curves; the table lists every key


@dataclass(frozen=True, slots=True)
class RunColumn:
    run_id: str
    name: str
    status: str
    experiment: str
    sweep_id: str | None
    trial: int | None
    duration_s: float | None

    @property
    def label(self) -> str:
        name = self.name if len(self.name) <= 24 else self.name[:23] + "…"
        return f"{name} ({self.run_id[:8]})"


@dataclass(frozen=True, slots=True)
class ParamRow:
    key: str
    values: tuple[str | None, ...]  # one per run, None where the run has no such param
    differs: bool


@dataclass(frozen=True, slots=True)
class MetricRow:
    key: str
    goal: Goal | None  # None: not an objective and not guessed, so there is no "best" either
    final: tuple[float | None, ...]
    best: tuple[float | None, ...]
    best_step: tuple[int | None, ...]
    differs: bool


@dataclass(frozen=True)
class Comparison:
    """Everything a comparison shows; curves map a metric key to a frame ``step, <run_id>...``."""

    runs: tuple[RunColumn, ...]
    params: tuple[ParamRow, ...]
    metrics: tuple[MetricRow, ...]
    curves: Mapping[str, pl.DataFrame]

    def params_frame(self) -> pl.DataFrame:
        data: dict[str, list[object]] = {
            "param": [p.key for p in self.params],
            "differs": [p.differs for p in self.params],
        }
        for i, run in enumerate(self.runs):
            data[run.run_id] = [p.values[i] for p in self.params]
        return pl.DataFrame(data, schema_overrides={r.run_id: pl.String() for r in self.runs})

    def metrics_frame(self) -> pl.DataFrame:
        rows: list[dict[str, object]] = []
        for m in self.metrics:
            for i, run in enumerate(self.runs):
                rows.append(
                    {
                        "metric": m.key,
                        "goal": m.goal,
                        "run_id": run.run_id,
                        "final": m.final[i],
                        "best": m.best[i],
                        "best_step": m.best_step[i],
                    }
                )
        schema = {
            "metric": pl.String(),
            "goal": pl.String(),
            "run_id": pl.String(),
            "final": pl.Float64(),
            "best": pl.Float64(),
            "best_step": pl.Int64(),
        }
        return pl.DataFrame(rows, schema=schema)


def compare(client: TrackingClient, run_ids: Sequence[str], *, goals: Mapping[str, Goal] | None = None) -> Comparison:
    """Compare runs from any sweeps or none; goals come from ``goals``, the sweeps' objectives, or the names."""
    ids = list(dict.fromkeys(run_ids))
    runs = client.get_runs(ids)
    missing = [i for i in ids if i not in {r.run_id for r in runs}]
    if missing:
        what = f"run with id {missing[0]!r}" if len(missing) == 1 else f"runs with ids {', '.join(map(repr, missing))}"
        raise RunsNotFound(f"no {what} in the store; `sweeps runs` lists run ids")
    parents = [r.parent_run_id for r in runs if r.parent_run_id]
    sweep_goals = _sweep_goals(client.get_runs(list(dict.fromkeys(parents)))) if parents else {}
    curve_keys = [k for k in _metric_keys(runs) if any(r.metrics[k].last_step > 0 for r in runs if k in r.metrics)]
    histories = client.metric_histories(ids, curve_keys[:MAX_CURVES]) if curve_keys else {}
    experiments = {e.experiment_id: e.name for e in client.list_experiments()}
    return comparison_of(runs, histories, {**sweep_goals, **(goals or {})}, experiments)


def comparison_of(
    runs: Sequence[Run],
    histories: Mapping[str, Mapping[str, Sequence[Metric]]],
    goals: Mapping[str, Goal],
    experiments: Mapping[int, str] | None = None,
    *,
    guess_goals: bool = True,
) -> Comparison:
    """The comparison of already-read runs and histories (no store access).

    ``guess_goals=False`` leaves metrics outside ``goals`` without a goal (and without a best).
    """
    columns = tuple(
        RunColumn(
            run_id=r.run_id,
            name=r.name,
            status=str(r.status),
            experiment=(experiments or {}).get(r.experiment_id, str(r.experiment_id)),
            sweep_id=r.tags.get(layout.SWEEP_ID),
            trial=trial_number(r) if r.tags.get(layout.KIND) == layout.KIND_TRIAL else None,
            duration_s=r.duration_s,
        )
        for r in runs
    )
    return Comparison(columns, _param_rows(runs), _metric_rows(runs, goals, guess_goals), _curves(runs, histories))


def _param_rows(runs: Sequence[Run]) -> tuple[ParamRow, ...]:
    keys = sorted({k for r in runs for k in r.params})
    rows = [ParamRow(k, values := tuple(r.params.get(k) for r in runs), len(set(values)) > 1) for k in keys]
    return tuple(sorted(rows, key=lambda p: not p.differs))  # stable: alphabetical within each group


def _metric_rows(runs: Sequence[Run], goals: Mapping[str, Goal], guess: bool = True) -> tuple[MetricRow, ...]:
    out = []
    for key in _metric_keys(runs):
        bare = key[len(OBJECTIVE_PREFIX) :] if key.startswith(OBJECTIVE_PREFIX) else key
        goal = goal_of(key, goals) if guess else goals.get(key) or goals.get(bare)
        summaries = [r.metrics.get(key) for r in runs]
        final = tuple(_clean(s.last) if s else None for s in summaries)
        best = tuple(_clean(s.best(goal)) if s and goal else None for s in summaries)
        steps = tuple(s.best_step(goal) if s and goal else None for s in summaries)
        out.append(MetricRow(key, goal, final, best, steps, len(set(final)) > 1))
    # Objectives first: they are what the runs were chosen by.
    return tuple(sorted(out, key=lambda m: not m.key.startswith(OBJECTIVE_PREFIX)))


def goal_of(key: str, goals: Mapping[str, Goal]) -> Goal:
    """The goal of a metric key: given, or its objective's, or guessed from the name."""
    bare = key[len(OBJECTIVE_PREFIX) :] if key.startswith(OBJECTIVE_PREFIX) else key
    return goals.get(key) or goals.get(bare) or guess_goal(bare)


def _curves(runs: Sequence[Run], histories: Mapping[str, Mapping[str, Sequence[Metric]]]) -> dict[str, pl.DataFrame]:
    keys = sorted({k for h in histories.values() for k in h})
    out = {}
    for key in keys:
        per_run = {r.run_id: {m.step: m.value for m in histories.get(r.run_id, {}).get(key, [])} for r in runs}
        steps = sorted({s for points in per_run.values() for s in points})
        data: dict[str, list[object]] = {"step": steps}
        for run_id, points in per_run.items():
            data[run_id] = [points.get(s) for s in steps]
        out[key] = pl.DataFrame(data, schema={"step": pl.Int64(), **{r: pl.Float64() for r in per_run}})
    return out


def _sweep_goals(parents: Sequence[Run]) -> dict[str, Goal]:
    goals: dict[str, Goal] = {}
    for parent in parents:
        try:
            specs = layout.metric_specs(parent.tags)
        except ValueError:
            continue
        for spec in specs:
            if spec.get("goal") in layout.GOALS:
                goals.setdefault(spec["name"], spec["goal"])  # type: ignore[arg-type]
    return goals


def _metric_keys(runs: Sequence[Run]) -> list[str]:
    return sorted({k for r in runs for k in r.metrics})


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


# -- text rendering ----------------------------------------------------------------------


def render_text(comparison: Comparison, width: int = 24) -> str:
    """A plain-text rendering for the terminal: runs, params (differing first, marked *), metrics."""
    heads = [f"[{i + 1}]" for i in range(len(comparison.runs))]
    runs = [
        [h, r.run_id, r.name, r.status, r.experiment, r.sweep_id or "-", _text(r.trial), _seconds(r.duration_s)]
        for h, r in zip(heads, comparison.runs, strict=True)
    ]
    headers = ["", "run_id", "name", "status", "experiment", "sweep", "trial", "duration"]
    parts = ["Runs", _table(headers, runs, width * 2)]
    differing = sum(p.differs for p in comparison.params)
    parts.append(f"\nParams ({differing} differ, {len(comparison.params) - differing} same; * marks a difference)")
    params = [[("* " if p.differs else "  ") + p.key, *(_text(v) for v in p.values)] for p in comparison.params]
    parts.append(_table(["param", *heads], params, width) if params else "  (none)")
    parts.append("\nMetrics (final | best @ step)")
    metrics = [[m.key, m.goal or "-", *_final_best(m)] for m in comparison.metrics]
    parts.append(_table(["metric", "goal", *heads], metrics, width * 2) if metrics else "  (none)")
    return "\n".join(parts) + "\n"


def _final_best(row: MetricRow) -> list[str]:
    return [f"{_num(f)} | {_num(b)} @ {_text(s)}" for f, b, s in zip(row.final, row.best, row.best_step, strict=True)]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    cells = [[_cut(c, width) for c in row] for row in [list(headers), *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _cut(text: str, width: int) -> str:
    # Names and values are user text: no escape sequence of theirs reaches the terminal.
    text = _CONTROL.sub("?", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
