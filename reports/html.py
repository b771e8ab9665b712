"""The self-contained HTML report of a sweep, and the HTML page of a run comparison."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import tempfile
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from reports import _format as fmt
from reports import figures, plots, sections
from reports.compare import Comparison
from reports.errors import ReportError
from reports.importance import EvaluatorName
from reports.provenance import provenance, registry_entry
from reports.ranking import rank_trials, trial_records
from reports.space import search_space
from reports.sweep import Objective, Sweep, load_sweep
from tracking import TrackingClient
from tracking.error_text import os_error_reason
from tracking.gc_pause import paused_gc

# (id, title) of every section, in page order; ids are stable: tests and links rely on them.
SECTIONS = (
    ("summary", "Summary"),
    ("leaderboard", "Leaderboard"),
    ("history", "Optimization history"),
    ("curves", "Learning curves"),
    ("parallel", "Parallel coordinates"),
    ("importance", "Parameter importances"),
    ("slices", "Slice plots"),
    ("runner-up", "Best vs runner-up"),
    ("pareto", "Pareto front"),
    ("failures", "Failed and pruned trials"),
    ("registry", "Champion vs challenger"),
    ("provenance", "Provenance"),
)
MAX_LEADERBOARD_PARAMS = 20


def build_report(
    client: TrackingClient,
    sweep_id: str,
    output_path: str | os.PathLike[str],
    *,
    top_k: int = 10,
    importance: EvaluatorName = "auto",
    secondary: str | Objective | tuple[str, str] | None = None,
) -> Path:
    """Write the HTML report of ``sweep_id`` to ``output_path`` (one file, no network needed)."""
    sweep = load_sweep(client, sweep_id)
    text = render_report(client, sweep, top_k=top_k, importance=importance, secondary=secondary)
    return _write(Path(output_path), text)


@paused_gc()
def render_report(
    client: TrackingClient,
    sweep: Sweep,
    *,
    top_k: int = 10,
    importance: EvaluatorName = "auto",
    secondary: str | Objective | tuple[str, str] | None = None,
) -> str:
    """The report of an already-loaded sweep, as HTML text."""
    second = Objective.parse(secondary) if secondary is not None else None
    goals = [o.goal for o in sweep.objectives]
    order = rank_trials(trial_records(sweep, second), goals, second.goal if second else None)
    rows = sections.trial_rows(sweep, order)
    space = search_space(sweep.trials)
    pareto_block, volume = figures.pareto(sweep, rows)
    importance_block, importance_results = figures.importances(sweep, space, importance)
    param_keys = sorted({k for r in sweep.trials for k in r.params})
    context = {
        "title": f"Sweep {sweep.sweep_id}",
        "sections": SECTIONS,
        "sweep": sweep,
        "summary": sections.summary(sweep, rows, volume),
        "counts": sections.status_counts(sweep),
        "leaderboard": sections.leaderboard_table(sweep, order, param_keys[:MAX_LEADERBOARD_PARAMS]),
        "hidden_params": max(len(param_keys) - MAX_LEADERBOARD_PARAMS, 0),
        "history": figures.history(sweep, rows),
        "curves": figures.curves(client, sweep, rows, top_k),
        "top_k": top_k,
        "parallel": figures.parallel(sweep, rows, space),
        "importance": importance_block,
        "importance_results": importance_results,
        "slices": figures.slices(sweep, rows, space),
        "runner_up": sections.runner_up(sweep, rows),
        "pareto": pareto_block,
        "failures": sections.failures(sweep, rows),
        "registry": registry_entry(client, sweep),
        "provenance": provenance(client, sweep),
        "generated": fmt.timestamp(int(time.time() * 1000)),
        "meta": {
            "kind": "sweep-report",
            "sweep_id": sweep.sweep_id,
            "sections": [s for s, _ in SECTIONS],
            "trials": len(sweep.trials),
            "objectives": [{"name": o.name, "goal": o.goal} for o in sweep.objectives],
        },
    }
    return _render("report.html", context)


def write_comparison_html(comparison: Comparison, output_path: str | os.PathLike[str]) -> Path:
    """Write a comparison (params, metrics, curves by step) as one self-contained HTML file."""
    curves = []
    for key, frame in comparison.curves.items():
        series = []
        for run in comparison.runs:
            part = frame.select("step", run.run_id).drop_nulls()
            if part.height:
                series.append((run.label, part["step"].to_numpy(), part[run.run_id].to_numpy()))
        if series:
            curves.append((key, plots.to_data_uri(plots.draw_metric_curves(key, series))))
    context = {
        "title": "Run comparison",
        "comparison": comparison,
        "curves": curves,
        "generated": fmt.timestamp(int(time.time() * 1000)),
        "meta": {"kind": "run-comparison", "runs": [r.run_id for r in comparison.runs]},
    }
    return _write(Path(output_path), _render("compare.html", context))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,  # every user string is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt.number
    env.filters["duration"] = fmt.duration
    env.filters["cut"] = fmt.cut
    env.filters["sortkey"] = _sort_key
    return env


def _sort_key(value: object) -> str:
    """A ``data-sort`` value the page's script reads with ``Number()`` (which knows Infinity, not inf)."""
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    return str(value)


@cache
def _assets() -> tuple[str, str, str]:
    """The page's CSS and script, and the CSP hash that lets exactly that script run."""
    folder = Path(__file__).parent / "templates"
    css = (folder / "report.css").read_text(encoding="utf-8")
    script = (folder / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return css, script, f"'sha256-{digest}'"


def _render(template: str, context: Mapping[str, object]) -> str:
    css, script, script_hash = _assets()
    return (
        _environment()
        .get_template(template)
        .render(
            **context,
            css=Markup(css),
            script=Markup(script),
            script_hash=script_hash,
        )
    )


def _write(path: Path, text: str) -> Path:
    # Write next to the target and rename, so a reader never sees half a report.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReportError(f"cannot write the report {path}: {os_error_reason(exc)}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp creates the file 0600; a report is meant to be shared and opened by others.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)  # never half a report left behind
        if isinstance(exc, OSError):
            raise ReportError(f"cannot write the report {path}: {os_error_reason(exc)}") from exc
        raise
    return path
