"""`/` (experiments with their counts) and `/experiments/{name}` (the runs table) with their data."""

from __future__ import annotations

from starlette.routing import Route

from reports.ui import runs_query
from reports.ui.core import Page, Req, Ui, data_endpoint, page_endpoint
from tracking import Experiment, Run
from tracking.auth.base import Role
from tracking.errors import ExperimentNotFound, FilterError, InvalidParameter
from tracking.store.sql_store import SqlStore

PAGE_SIZE = 100


def sql_store(ui: Ui) -> SqlStore:
    store = ui.server.store
    if not isinstance(store, SqlStore):  # `sweeps ui` / `sweeps server` only ever serve SQL stores
        raise InvalidParameter("the UI needs a SQL store")
    return store


def experiment_named(ui: Ui, req: Req, name: str) -> Experiment:
    """The experiment, if the caller may read it: one without a grant is as unknown as a missing one."""
    found = ui.server.store.get_experiment_by_name(name)
    if found is None or getattr(found, "deleted_at", None):
        raise ExperimentNotFound(f"no experiment named {name!r}")
    ui.server.need_experiment(req.principal, found.experiment_id, Role.READ)
    return found


def run_row(run: Run, children: int = 0) -> dict[str, object]:
    return {
        "run_id": run.run_id,
        "name": run.name,
        "status": str(run.status),
        "start_time": run.start_time,
        "end_time": run.end_time,
        "parent_run_id": run.parent_run_id,
        "user": run.user,
        "params": dict(run.params),
        "metrics": {k: s.last for k, s in run.metrics.items()},
        "tags": dict(run.tags),
        "children": children,
    }


def _experiments(ui: Ui, req: Req) -> object:
    rows = runs_query.experiments(sql_store(ui), ui.server.readable(req.principal))
    return {
        "experiments": [
            {"name": e.name, "runs": e.runs, "sweeps": e.sweeps, "last_activity": e.last_activity} for e in rows
        ]
    }


def home(ui: Ui, req: Req) -> Page:
    return Page("Experiments", "experiments.js", _experiments(ui, req), charts=False)  # type: ignore[arg-type]


def experiment_page(ui: Ui, req: Req) -> Page:
    experiment = experiment_named(ui, req, req.path["name"])
    # The page the URL asks for (its filter, order and offset) comes inside the HTML: the table is
    # drawn as soon as the script runs, not one more request later.
    data = {"experiment": experiment.name, "page_size": PAGE_SIZE, "first": runs_data(ui, req)}
    return Page(experiment.name, "runs.js", data, charts=False, crumbs=(("Experiments", "/"),))


def _int(req: Req, name: str, default: int) -> int:
    text = req.query.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidParameter(f"{name} must be an integer, got {text!r}") from None


def _query(ui: Ui, req: Req) -> tuple[int, str, list[str], str | None, bool]:
    experiment = experiment_named(ui, req, req.path["name"])
    filter_text = req.query.get("filter") or ""
    filter_text = filter_text if filter_text.strip() else ""  # as typed: an error's position must match
    order = [o for o in (req.query.get("order") or "").split("\n") if o.strip()]
    parent = req.query.get("parent") or None
    nested = req.query.get("nested", "1") == "1" and not filter_text and parent is None
    return experiment.experiment_id, filter_text, order, parent, nested


def runs_data(ui: Ui, req: Req) -> object:
    """A page of runs; for a bad filter, its message and position, for the box to show them."""
    experiment_id, filter_text, order, parent, nested = _query(ui, req)
    try:
        page = runs_query.runs_page(
            sql_store(ui),
            experiment_id,
            filter_text,
            order,
            _int(req, "offset", 0),
            _int(req, "limit", PAGE_SIZE),
            top_level=nested,
            parent_run_id=parent,
        )
    except FilterError as exc:
        # An answer, not a failure: the box shows it (a 4xx would be a console error in every browser).
        return {"filter_error": {"message": str(exc), "position": exc.position, "text": exc.text}}
    return {
        "more": page.more,
        "nested": nested,
        "runs": [run_row(r, page.children.get(r.run_id, 0)) for r in page.runs],
    }


def count_data(ui: Ui, req: Req) -> object:
    experiment_id, filter_text, _order, parent, nested = _query(ui, req)
    try:
        total = runs_query.count_runs(sql_store(ui), experiment_id, filter_text, top_level=nested, parent_run_id=parent)
    except FilterError:
        return {"total": None}
    return {"total": total}


def keys_data(ui: Ui, req: Req) -> object:
    experiment = experiment_named(ui, req, req.path["name"])
    return runs_query.keys_of(sql_store(ui), experiment.experiment_id)


def routes(ui: Ui) -> list[Route]:
    return [
        Route("/", page_endpoint(ui, home), methods=["GET"]),
        Route("/experiments/{name:path}", page_endpoint(ui, experiment_page), methods=["GET"]),
        Route("/ui/api/experiments", data_endpoint(ui, _experiments), methods=["GET"]),
        Route("/ui/api/experiments/{name:path}/runs", data_endpoint(ui, runs_data), methods=["GET"]),
        Route("/ui/api/experiments/{name:path}/keys", data_endpoint(ui, keys_data), methods=["GET"]),
        Route("/ui/api/experiments/{name:path}/count", data_endpoint(ui, count_data), methods=["GET"]),
    ]
