"""`/runs/{run_id}`: params, tags, status and error, every metric series (downsampled, zoomable), artifacts."""

from __future__ import annotations

from starlette.routing import Route

from reports.ui import series as series_data
from reports.ui.artifact_view import artifact_routes
from reports.ui.core import Page, Req, Ui, chart_values, data_endpoint, experiment_href, page_endpoint
from reports.ui.experiments_page import _int, run_row, sql_store
from tracking import Run
from tracking.auth.base import Role
from tracking.errors import InvalidParameter, RunNotFound


def readable_run(ui: Ui, req: Req, run_id: str) -> Run:
    """The run, if the caller may read it (an invisible run is as unknown as a missing one)."""
    ui.server.need_run(req.principal, run_id, Role.READ)
    run = ui.server.store.get_run(run_id)
    if getattr(run, "deleted_at", None):
        raise RunNotFound(f"no run with id {run_id!r}")
    return run


def run_data(ui: Ui, run: Run) -> dict[str, object]:
    experiment = ui.server.store.get_experiment(run.experiment_id)
    children = ui.server.store.child_runs(run.run_id)
    return {
        "run": {**run_row(run, len(children)), "error": run.error},
        "experiment": experiment.name,
        "metrics": {
            k: {"last": s.last, "min": s.min, "max": s.max, "last_step": s.last_step}
            for k, s in sorted(run.metrics.items())
        },
        "children": [{"run_id": c.run_id, "name": c.name, "status": str(c.status)} for c in children[:200]],
        "child_count": len(children),
    }


def run_page(ui: Ui, req: Req) -> Page:
    run = readable_run(ui, req, req.path["run_id"])
    data = run_data(ui, run)
    crumbs = (("Experiments", "/"), (str(data["experiment"]), experiment_href(str(data["experiment"]))))
    if run.parent_run_id:
        crumbs = (*crumbs, ("parent run", f"/runs/{run.parent_run_id}"))
    return Page(f"Run {run.name}", "run.js", data, crumbs=crumbs)


def series_endpoint(ui: Ui, req: Req) -> object:
    """One series; ``lo``/``hi`` (steps) for a zoomed range, ``buckets`` for the chart's width."""
    run = readable_run(ui, req, req.path["run_id"])
    key = req.query.get("key") or ""
    if key not in run.metrics:
        raise InvalidParameter(f"run {run.run_id} has no metric {key!r}")
    lo = _int(req, "lo", -(2**62)) if req.query.get("lo") else None
    hi = _int(req, "hi", 2**62) if req.query.get("hi") else None
    buckets = max(10, min(_int(req, "buckets", series_data.DEFAULT_BUCKETS), 5_000))
    found = series_data.series(sql_store(ui), run.run_id, key, lo, hi, buckets)
    return {
        "key": key,
        "steps": found.steps.tolist(),
        "values": chart_values(found.values),
        "total": found.total,
        "shown": len(found.steps),
        "downsampled": found.downsampled,
        "first_step": found.first_step,
        "last_step": found.last_step,
        "lo": lo,
        "hi": hi,
    }


def routes(ui: Ui) -> list[Route]:
    return [
        Route("/runs/{run_id}", page_endpoint(ui, run_page), methods=["GET"]),
        Route("/ui/api/runs/{run_id}/series", data_endpoint(ui, series_endpoint), methods=["GET"]),
        *artifact_routes(ui, readable_run),
    ]
