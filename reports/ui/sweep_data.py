"""Everything the live sweep page draws, from the report's own data layer (one place decides what a
figure shows): ranking, `plot_data` infos, importances, failures and the noise verdict, as JSON."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from reports import sections
from reports.importance import param_importances
from reports.plot_data import (
    TrialRow,
    _get_curves_info,
    _get_history_info,
    _get_parallel_info,
    _get_pareto_info,
    curve_metric,
    curve_run_ids,
)
from reports.ranking import rank_trials, trial_records
from reports.space import search_space
from reports.sweep import Sweep
from reports.ui.core import chart_values
from tracking import TrackingClient
from tracking import sweep_layout as layout
from tracking.gc_pause import paused_gc

LEADERBOARD_ROWS = 200
TOP_CURVES = 10
# Importances cost a model fit: recomputed only when this many more trials have finished.
IMPORTANCE_EVERY = 10


@paused_gc()
def payload(client: TrackingClient, sweep: Sweep) -> dict[str, object]:
    goals = [o.goal for o in sweep.objectives]
    order = rank_trials(trial_records(sweep), goals)
    rows = sections.trial_rows(sweep, order)
    space = search_space(sweep.trials)
    finished = sum(r.rank is not None for r in rows)
    return {
        "sweep_id": sweep.sweep_id,
        "name": sweep.parent.name,
        "parent_run_id": sweep.parent.run_id,
        "experiment": sweep.experiment,
        "status": str(sweep.parent.status),
        "live": str(sweep.parent.status) == "RUNNING",
        "objectives": [{"name": o.name, "goal": o.goal} for o in sweep.objectives],
        "progress": _progress(sweep),
        "summary": [list(p) for p in sections.summary(sweep, rows, None)],
        "leaderboard": _leaderboard(sweep, rows),
        "history": _history(sweep, rows),
        "curves": _curves(client, sweep, rows),
        "parallel": _parallel(sweep, rows, space) if finished >= 2 and space else None,
        "finished": finished,
        "pareto": _pareto(sweep, rows) if sweep.multi_objective and finished else None,
        "failures": _failures(sweep, rows),
        "verdict": _verdict(sweep, rows),
    }


def _progress(sweep: Sweep) -> dict[str, object]:
    counts = Counter(str(r.status) for r in sweep.trials)
    budget = sweep.parent.tags.get(layout.BUDGET_TRIALS)
    return {
        "counts": dict(counts),
        "trials": len(sweep.trials),
        "budget": int(budget) if budget and budget.isdigit() else None,
        "done": sum(n for s, n in counts.items() if s != "RUNNING"),
    }


def _leaderboard(sweep: Sweep, rows: Sequence[TrialRow]) -> dict[str, object]:
    shown = list(rows[:LEADERBOARD_ROWS])
    params = sorted({k for r in shown for k in r.params})
    return {
        "params": params,
        "total": len(rows),
        "rows": [
            {
                "rank": r.rank,
                "number": r.number,
                "run_id": r.run_id,
                "name": r.label,
                "status": r.status,
                "values": list(r.values),
                "params": dict(r.params),
            }
            for r in shown
        ],
    }


def _history(sweep: Sweep, rows: Sequence[TrialRow]) -> list[dict[str, object]]:
    out = []
    for index, objective in enumerate(sweep.objectives):
        info = _get_history_info(rows, objective, index)
        out.append(
            {
                "objective": objective.name,
                "goal": objective.goal,
                "numbers": info.numbers.astype(int).tolist(),
                "values": chart_values(info.values),
                "best_numbers": info.best_numbers.astype(int).tolist(),
                "best": chart_values(info.best_values),
                "pruned_numbers": info.pruned_numbers.astype(int).tolist(),
                "pruned_values": chart_values(info.pruned_values),
                "scale": info.scale,  # plot_data decides, for the report and this page alike
            }
        )
    return out


def _curves(client: TrackingClient, sweep: Sweep, rows: Sequence[TrialRow]) -> dict[str, object] | None:
    metric = curve_metric(sweep)
    if metric is None:
        return None
    top, pruned = curve_run_ids(rows, TOP_CURVES)
    histories = client.metric_histories([*top, *pruned], [metric]) if top or pruned else {}
    info = _get_curves_info(rows, histories, metric, top, pruned)
    return {
        "metric": info.metric,
        "note": info.note,
        "scale": info.scale,
        "series": [
            {"label": s.label, "steps": s.steps.tolist(), "values": chart_values(s.values), "pruned": s.pruned}
            for s in info.series
        ],
    }


def _parallel(sweep: Sweep, rows: Sequence[TrialRow], space: dict) -> dict[str, object]:  # type: ignore[type-arg]
    info = _get_parallel_info(rows, space, sweep.primary)
    return {
        "note": info.note,
        "axes": [{"name": a.name, "ticks": list(a.tick_positions), "labels": list(a.tick_labels)} for a in info.axes],
        "columns": [chart_values(info.lines[:, i]) for i in range(info.lines.shape[1])],
        "colour": chart_values(info.colour),
    }


@paused_gc()
def importances(sweep: Sweep, finished: int, cache: dict[str, object]) -> object:
    """Per objective: the evaluator, (param, importance) pairs, and why there are none."""
    key = sweep.sweep_id
    known = cache.get(key)
    if isinstance(known, tuple):
        newer = finished - int(known[0])
        if newer == 0 or (sweep.parent.status == "RUNNING" and 0 < newer < IMPORTANCE_EVERY):
            return known[1]
    results = param_importances(sweep.trials, sweep.objectives, search_space(sweep.trials), "auto")
    shown = [
        {
            "objective": r.objective,
            "evaluator": r.evaluator,
            "pairs": [list(p) for p in r.importances],
            "note": r.message,
        }
        for r in results
    ]
    cache[key] = (finished, shown)
    return shown


def _pareto(sweep: Sweep, rows: Sequence[TrialRow]) -> dict[str, object]:
    info = _get_pareto_info(rows, sweep.objectives)
    return {
        "objectives": [o.name for o in info.objectives],
        "x": chart_values(info.points[:, 0]),
        "y": chart_values(info.points[:, 1]),
        "front_x": chart_values(info.front[:, 0]),
        "front_y": chart_values(info.front[:, 1]),
        "scales": list(info.scales),
        "note": info.note,
    }


def _failures(sweep: Sweep, rows: Sequence[TrialRow]) -> dict[str, object]:
    found = sections.failures(sweep, rows)
    return {
        "total": found.total,
        "by_error": [list(p) for p in found.by_error],
        "rows": [
            {
                "trial": f.trial,
                "name": f.name,
                "status": f.status,
                "value": f.value,
                "params": f.params,
                "summary": f.summary,
                "error": f.error,
            }
            for f in found.rows
        ],
    }


def _verdict(sweep: Sweep, rows: Sequence[TrialRow]) -> dict[str, object]:
    found = sections.runner_up(sweep, rows)
    if found.verdict is None:
        return {"verdict": None, "message": found.message}
    v = found.verdict
    return {
        "verdict": v.verdict,
        "message": v.message,
        "gap": v.gap if not math.isnan(v.gap) else None,
        "p_value": v.p_value,
        "method": v.method,
    }
