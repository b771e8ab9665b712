"""The report's tabular sections: summary, leaderboard, best vs runner-up, failed and pruned trials."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reports import _format as fmt
from reports.compare import Comparison, comparison_of
from reports.config_ranking import OUTPUT_TAIL, REPEATS_PARAM
from reports.plot_data import TrialRow
from reports.ranking import RankedTrial
from reports.seeds import SEED_PARAM, NoiseVerdict, SeedGroup, group_by_seed, has_repeats, noise_verdict, rank_groups
from reports.sweep import Sweep
from tracking import Run
from tracking.error_text import error_summary

MAX_FAILURE_ROWS = 300
# Rows of the report's leaderboard: every trial of a 20,000-trial sweep made a 13 MB page that
# took seconds to render and to open. The store lists them all (`sweeps runs --sweep ID`).
MAX_LEADERBOARD_ROWS = 500
MAX_ERROR_CHARS = 4_000
# A number in an error message: "trial 17 diverged", "shape (3, 4)", "lr=1e-05", "at 0x7f3a…". Not one
# inside a name ("float32", "conv2d"), so that different names stay different errors.
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)*(?:[eE][-+]?\d+)?)")
NUMBER_MASK = "#"
_STATUSES = ("FINISHED", "PRUNED", "FAILED", "KILLED", "RUNNING")


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    sort: str | float | int | None = None  # what the column sorts by; None sorts last
    title: str | None = None  # hover text, e.g. the full value of a cut one
    cls: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    row_classes: tuple[str, ...] = ()
    numeric: frozenset[int] = field(default_factory=frozenset)  # right-aligned columns
    total: int | None = None  # rows there were, when only the first ones are shown


@dataclass(frozen=True, slots=True)
class GroupRow:
    role: str
    params: str
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class RunnerUp:
    message: str | None  # set when there is nothing to compare
    groups: tuple[GroupRow, ...] = ()
    comparison: Comparison | None = None
    verdict: NoiseVerdict | None = None
    rule: str | None = None  # how the two were chosen, when it is not plain rank 1 and rank 2


@dataclass(frozen=True, slots=True)
class FailureRow:
    trial: str
    name: str
    status: str
    value: str
    params: str
    duration: str
    summary: str
    error: str


@dataclass(frozen=True, slots=True)
class Failures:
    rows: tuple[FailureRow, ...]
    total: int
    by_error: tuple[tuple[str, int], ...]  # (exception line with numbers masked, trials), commonest first


def trial_rows(sweep: Sweep, order: Sequence[RankedTrial]) -> list[TrialRow]:
    """The figures' view of each trial, in leaderboard order."""
    runs = {r.run_id: r for r in sweep.trials}
    return [
        TrialRow(
            run_id=r.trial.run_id,
            number=r.trial.number,
            label=runs[r.trial.run_id].name,
            status=r.trial.status,
            values=r.trial.values,
            rank=r.rank,
            front=r.front,
            params=r.trial.params,
        )
        for r in order
    ]


def status_counts(sweep: Sweep) -> dict[str, int]:
    counts = Counter(str(r.status) for r in sweep.trials)
    return {s: counts.get(s, 0) for s in _STATUSES if counts.get(s, 0) or s != "RUNNING"}


def summary(sweep: Sweep, rows: Sequence[TrialRow], hypervolume: float | None) -> list[tuple[str, str]]:
    """Key facts of the sweep as (label, text) pairs."""
    parent, tags = sweep.parent, sweep.parent.tags
    budget = tags.get("sweeps.budget.trials")
    done = sum(str(r.status) != "RUNNING" for r in sweep.trials)
    end = parent.end_time if parent.end_time is not None else int(time.time() * 1000)
    goals = ", ".join(f"{o.name} ({o.goal})" for o in sweep.objectives)
    best = next((r for r in rows if r.rank == 1), None)
    pairs = [
        ("sweep", sweep.sweep_id),
        ("name", parent.name),
        ("experiment", sweep.experiment),
        ("status", str(parent.status)),
        ("objective" if len(sweep.objectives) == 1 else "objectives", goals),
        ("function", tags.get("sweeps.objective", "—")),
        ("sampler / pruner", f"{tags.get('sweeps.sampler', '—')} / {tags.get('sweeps.pruner', '—')}"),
        ("budget", f"{done} of {budget} trials done" if budget else f"{done} trials done"),
        ("concurrency", tags.get("sweeps.concurrency", "—")),
        ("trials", ", ".join(f"{n} {s.lower()}" for s, n in status_counts(sweep).items())),
    ]
    if best is not None:
        values = ", ".join(f"{o.name} = {fmt.number(v)}" for o, v in zip(sweep.objectives, best.values, strict=True))
        heading = "best trial" if len(sweep.objectives) == 1 else "first on the Pareto front"
        pairs.append((heading, f"#{best.number} {best.label}: {values} (run {best.run_id})"))
    else:
        pairs.append(("best trial", "none: no trial finished with an objective value"))
    if hypervolume is not None:
        pairs.append(("hypervolume", fmt.number(hypervolume)))
    pairs.append(("started", fmt.timestamp(parent.start_time)))
    if parent.end_time is not None:
        pairs.append(("finished", fmt.timestamp(parent.end_time)))
        pairs.append(("duration", fmt.duration((end - parent.start_time) / 1000)))
    else:
        pairs.append(("running for", fmt.duration((end - parent.start_time) / 1000)))
    return pairs


def leaderboard_table(
    sweep: Sweep, order: Sequence[RankedTrial], param_keys: Sequence[str], limit: int | None = None
) -> Table:
    """The first `limit` trials (default `MAX_LEADERBOARD_ROWS`) in leaderboard order, ranked ones first;
    each cell carries its sort key for the page's script."""
    limit = MAX_LEADERBOARD_ROWS if limit is None else limit
    runs = {r.run_id: r for r in sweep.trials}
    total = len(order) if len(order) > limit else None
    order = order[:limit]
    headers = ["rank", "trial", "name", "status", *(o.name for o in sweep.objectives)]
    if sweep.multi_objective:
        headers.append("front")
    headers += ["best step", "duration", *param_keys, "run id"]
    rows, classes = [], []
    for item in order:
        run = runs[item.trial.run_id]
        cells = [
            _int_cell(item.rank),
            _int_cell(item.trial.number),
            Cell(fmt.cut(run.name, 40), run.name, run.name),
            Cell(str(run.status), str(run.status), cls=f"status {str(run.status).lower()}"),
        ]
        cells += [_float_cell(v) for v in item.trial.values]
        if sweep.multi_objective:
            cells.append(_int_cell(item.front))
        summary_ = run.metrics.get(sweep.primary.name)
        cells.append(_int_cell(summary_.best_step(sweep.primary.goal) if summary_ else None))
        cells.append(Cell(fmt.duration(run.duration_s), run.duration_s))
        cells += [_param_cell(run.params.get(k)) for k in param_keys]
        cells.append(Cell(run.run_id[:8], run.run_id, run.run_id, cls="mono"))
        rows.append(tuple(cells))
        classes.append("best" if item.rank == 1 else "ranked" if item.rank is not None else "apart")
    numeric = {0, 1, *range(4, len(headers) - len(param_keys) - 1)}
    return Table(tuple(headers), tuple(rows), tuple(classes), frozenset(numeric), total)


def _int_cell(value: int | None) -> Cell:
    return Cell("—" if value is None else str(value), value)


def _float_cell(value: float) -> Cell:
    # NaN here means "not logged" (a failed trial has no objective value): show a dash.
    return Cell("—", None) if math.isnan(value) else Cell(fmt.number(value), value)


def _param_cell(text: str | None) -> Cell:
    if text is None:
        return Cell("—")
    try:
        key: str | float = float(text)
    except ValueError:
        key = text
    shown = fmt.number(float(text), 4) if isinstance(key, float) and "." in text else text
    return Cell(fmt.cut(shown, 24), key, text if len(text) > 24 or shown != text else None)


def runner_up(sweep: Sweep, rows: Sequence[TrialRow]) -> RunnerUp:
    """Best against runner-up; groups of repeated seeds when there are any, else single trials.

    In a multi-objective sweep the leaderboard's first two are both on the Pareto front, where neither
    beats the other (often its two ends): there the two best by the first objective are compared.
    """
    ranked = [r for r in rows if r.rank is not None]
    if len(ranked) < 2:
        return RunnerUp(f"needs two finished trials; this sweep has {len(ranked)}")
    runs = {r.run_id: r for r in sweep.trials}
    primary = sweep.primary
    rule = None
    if sweep.multi_objective:
        ranked = sorted(ranked, key=lambda r: primary.sign * r.values[0])  # stable: leaderboard order on ties
        front = sum(r.front == 1 for r in ranked)
        rule = (
            f"Multi-objective sweep: the {front} trials of the Pareto front do not beat each other on every "
            f"objective, so these are the two best trials by {primary.name} ({primary.goal}), the first "
            "objective; the other objectives are side by side below."
        )
    goal = primary.goal
    seed_param = sweep.parent.tags.get(REPEATS_PARAM) or SEED_PARAM  # `repeats:` names its own param
    groups = rank_groups(group_by_seed([(r.run_id, r.params, r.values[0]) for r in ranked], seed_param), goal)
    goals = {o.name: o.goal for o in sweep.objectives}
    if has_repeats(groups) and len(groups) >= 2:
        best, second = groups[0], groups[1]
        picks = [_best_of(best, ranked), _best_of(second, ranked)]
        # Only objectives have a goal: a direction guessed from a name would be a claim the sweep never made.
        comparison = comparison_of([runs[i] for i in picks], {}, goals, guess_goals=False)
        return RunnerUp(
            None,
            (_group_row("best", best), _group_row("runner-up", second)),
            comparison,
            noise_verdict(best, second, goal),
            rule,
        )
    first, second_row = ranked[0], ranked[1]
    comparison = comparison_of([runs[first.run_id], runs[second_row.run_id]], {}, goals, guess_goals=False)
    return RunnerUp(None, (), comparison, noise_verdict([first.values[0]], [second_row.values[0]], goal), rule)


def _best_of(group: SeedGroup, rows: Sequence[TrialRow]) -> str:
    members = set(group.run_ids)
    return next(r.run_id for r in rows if r.run_id in members)


def _group_row(role: str, group: SeedGroup) -> GroupRow:
    params = ", ".join(f"{k}={_short_param(v)}" for k, v in group.key)
    return GroupRow(role, params, group.n, group.mean, group.std, group.ci_low, group.ci_high)


def failures(sweep: Sweep, rows: Sequence[TrialRow]) -> Failures:
    """Trials that did not finish, with their errors; the commonest errors counted."""
    runs: Mapping[str, Run] = {r.run_id: r for r in sweep.trials}
    bad = [r for r in rows if r.status in ("FAILED", "PRUNED", "KILLED")]
    out = []
    for row in bad[:MAX_FAILURE_ROWS]:
        run = runs[row.run_id]
        error = run.error or ""
        output = run.tags.get(OUTPUT_TAIL)  # what the objective printed last, shown under its error
        shown = error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + "\n… (cut)"
        if output:
            shown = f"{shown.rstrip()}\n\n--- the last lines of its output (output.log) ---\n{output}"
        out.append(
            FailureRow(
                trial="—" if row.number is None else str(row.number),
                name=row.label,
                status=row.status,
                value=fmt.number(row.values[0]) if row.values and not math.isnan(row.values[0]) else "—",
                params=fmt.cut(", ".join(f"{k}={_short_param(v)}" for k, v in sorted(row.params.items())), 160),
                duration=fmt.duration(run.duration_s),
                summary=_error_line(error) or _stopped(run, sweep),
                error=shown,
            )
        )
    counted = Counter(error_kind(runs[r.run_id].error or "") for r in bad if r.status == "FAILED")
    return Failures(tuple(out), len(bad), tuple((k or "(no error text)", n) for k, n in counted.most_common(10)))


def error_kind(error: str) -> str:
    """What makes two errors the same: the exception line (type and message) with its numbers masked."""
    return fmt.cut(_NUMBER.sub(NUMBER_MASK, error_summary(error) or ""), 200)


def _stopped(run: Run, sweep: Sweep) -> str:
    if run.status != "PRUNED":
        return "—"
    series = run.metrics.get(sweep.primary.name)
    return f"pruned after step {series.last_step}" if series is not None else "pruned"


def _short_param(text: str) -> str:
    """Long float texts (0.00077369690900289) read better at four significant digits."""
    if "." not in text or len(text) <= 8:
        return text
    try:
        return fmt.number(float(text), 4)
    except ValueError:
        return text


def _error_line(error: str) -> str:
    return fmt.cut(error_summary(error) or "", 200)
