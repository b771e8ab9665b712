"""The report's figure sections: extract, draw, embed, or say why there is nothing to draw."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from optuna.distributions import BaseDistribution

from reports import plots
from reports.importance import EvaluatorName, ImportanceResult, param_importances
from reports.pareto import hypervolume, reference_point
from reports.plot_data import (
    TrialRow,
    _get_curves_info,
    _get_history_info,
    _get_parallel_info,
    _get_pareto_info,
    _get_slice_info,
    curve_metric,
    curve_run_ids,
)
from reports.sweep import Sweep
from tracking import TrackingClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FigureBlock:
    uri: str | None  # a data: URI, or None when ``message`` says why there is no figure
    alt: str
    note: str | None = None
    message: str | None = None
    # Small multiples, (uri, alt) each, which the page flows into as many columns as fit; ``uri`` is the first.
    panels: tuple[tuple[str, str], ...] = ()


def _embed(alt: str, draw: Callable[[], tuple[Figure, int]], note: str | None = None) -> FigureBlock:
    # One bad figure must not cost the user the whole report: say what failed, in its place.
    try:
        fig, marks = draw()
        return FigureBlock(plots.to_data_uri(fig, raster=marks > plots.RASTER_ABOVE), alt, note)
    except Exception as exc:
        log.exception("report figure %r failed", alt)
        return FigureBlock(None, alt, message=f"could not draw this figure: {type(exc).__name__}: {exc}")


def history(sweep: Sweep, rows: Sequence[TrialRow]) -> FigureBlock:
    if not any(r.rank is not None for r in rows):
        return FigureBlock(None, "", message="no trial finished with an objective value")
    infos = [_get_history_info(rows, o, i) for i, o in enumerate(sweep.objectives)]
    marks = sum(len(i.numbers) + len(i.pruned_numbers) for i in infos)
    return _embed("objective value per trial with the best so far", lambda: (plots.draw_history(infos), marks))


def curves(client: TrackingClient, sweep: Sweep, rows: Sequence[TrialRow], top_k: int) -> FigureBlock:
    metric = curve_metric(sweep)
    if metric is None:
        return FigureBlock(None, "", message="no trial logged a metric over more than one step")
    top, pruned = curve_run_ids(rows, top_k)
    # One query for every series drawn; ranking itself never reads histories.
    histories = client.metric_histories([*top, *pruned], [metric]) if top or pruned else {}
    info = _get_curves_info(rows, histories, metric, top, pruned)
    if not info.series:
        return FigureBlock(None, "", message=f"none of the top trials logged {metric!r} over several steps")
    marks = sum(len(s.steps) for s in info.series)
    alt = f"{metric} by step for the top {len(top)} trials and pruned trials"
    return _embed(alt, lambda: (plots.draw_curves(info), marks), info.note)


def parallel(sweep: Sweep, rows: Sequence[TrialRow], space: Mapping[str, BaseDistribution]) -> FigureBlock:
    finished = sum(r.rank is not None for r in rows)
    if finished < 2 or not space:
        why = "no parameter took more than one value" if not space else "needs at least 2 finished trials"
        return FigureBlock(None, "", message=why)
    info = _get_parallel_info(rows, space, sweep.primary)
    marks = int(info.lines.size)
    return _embed("parallel coordinates of params and objective", lambda: (plots.draw_parallel(info), marks), info.note)


def importances(
    sweep: Sweep, space: Mapping[str, BaseDistribution], evaluator: EvaluatorName
) -> tuple[FigureBlock, list[ImportanceResult]]:
    results = param_importances(sweep.trials, sweep.objectives, space, evaluator)
    if not any(r.importances for r in results):
        reasons = sorted({r.message or "nothing to show" for r in results})
        return FigureBlock(None, "", message="; ".join(reasons)), results
    notes = "; ".join(sorted({r.message for r in results if r.message})) or None
    return _embed("parameter importances", lambda: (plots.draw_importances(results), 0), notes), results


def slices(sweep: Sweep, rows: Sequence[TrialRow], space: Mapping[str, BaseDistribution]) -> FigureBlock:
    if not any(r.rank is not None for r in rows) or not space:
        why = "no parameter took more than one value" if not space else "no trial finished with an objective value"
        return FigureBlock(None, "", message=why)
    info = _get_slice_info(rows, space, sweep.primary)
    panels, notes = [], [info.note] if info.note else []
    for panel in info.panels:
        block = _embed(f"objective against {panel.name}", lambda p=panel: (plots.draw_slice(info, p), len(p.x)))
        if block.uri is None:
            notes.append(f"{panel.name}: {block.message}")  # one bad panel leaves the others standing
        else:
            panels.append((block.uri, block.alt))
    if not panels:
        return FigureBlock(None, "", message="; ".join(notes) or "no parameter to plot")
    note = "; ".join(notes) or None
    return FigureBlock(panels[0][0], "objective against each parameter", note, panels=tuple(panels))


def pareto(sweep: Sweep, rows: Sequence[TrialRow]) -> tuple[FigureBlock, float | None]:
    if not sweep.multi_objective:
        return FigureBlock(None, "", message="single-objective sweep: no Pareto front"), None
    finished = [r for r in rows if r.rank is not None]
    if not finished:
        return FigureBlock(None, "", message="no trial finished with all objective values"), None
    goals = [o.goal for o in sweep.objectives]
    points = np.array([r.values for r in finished], dtype=float)
    front = np.array([r.values for r in finished if r.front == 1], dtype=float)
    # An infinite objective value would make the volume infinite: measure the finite trials.
    finite = np.all(np.isfinite(points), axis=1)
    volume = None
    if finite.any():
        front = front[np.all(np.isfinite(front), axis=1)] if len(front) else front
        volume = hypervolume(front, reference_point(points[finite], goals), goals)
    info = _get_pareto_info(rows, sweep.objectives)
    notes = [info.note] if info.note else []
    notes.append("hypervolume against a reference point 10% beyond the worst finished value of each objective")
    if not finite.all():
        notes.append(f"{int((~finite).sum())} trial(s) with an infinite value left out of the hypervolume")
    note = "; ".join(notes)
    return _embed("Pareto front", lambda: (plots.draw_pareto(info, volume), len(points)), note), volume
