"""`/sweeps/{sweep_id}`: the live sweep page and the JSON it polls while the sweep runs."""

from __future__ import annotations

import threading

from starlette.responses import Response
from starlette.routing import Route

from reports.errors import SweepNotFound
from reports.sweep import Sweep, sweep_of
from reports.ui import runs_query
from reports.ui.core import Page, Req, Ui, data_endpoint, dumps, experiment_href, page_endpoint
from reports.ui.experiments_page import sql_store
from reports.ui.sweep_data import importances, payload
from tracking import Run
from tracking import sweep_layout as layout
from tracking.auth.base import Role
from tracking.errors import ExperimentNotFound

POLL_MS = 2_000
# Read ahead when the server starts: the newest sweeps are the ones people open first.
WARM_SWEEPS = 3
_CACHED_SWEEPS = 8  # each holds a loaded sweep: a few MB for 10,000 trials
_LOCK = threading.Lock()
_LOADING: dict[str, threading.Lock] = {}  # per sweep's parent run id
_FITTING: dict[str, threading.Lock] = {}  # the same, for importances: a poll never waits on a fit


def _parent(ui: Ui, sweep_id: str) -> Run:
    """The sweep's parent run: by its whole id, else an unambiguous prefix (as `sweeps show` takes)."""
    store = sql_store(ui)
    found = runs_query.sweep_parents(store, sweep_id)
    if not found:
        found = runs_query.sweep_parents(store, sweep_id, prefix=True)
        if len({whole for _, whole in found}) > 1:
            shown = ", ".join(sorted({whole for _, whole in found}))
            raise SweepNotFound(f"sweep id {sweep_id!r} is ambiguous: it starts {shown}; give more characters")
    if not found:
        raise SweepNotFound(f"no sweep with id {sweep_id!r}; `sweeps list` shows the sweeps of the store")
    return ui.server.store.get_run(found[0][0])


def _readable_parent(ui: Ui, req: Req, sweep_id: str) -> Run:
    """The parent, if the caller may read its experiment; else as unknown as a missing sweep."""
    parent = _parent(ui, sweep_id)
    try:
        ui.server.need_experiment(req.principal, parent.experiment_id, Role.READ)
    except ExperimentNotFound:
        raise SweepNotFound(f"no sweep with id {sweep_id!r}") from None
    return parent


def _lock_of(parent: Run, locks: dict[str, threading.Lock] = _LOADING) -> threading.Lock:
    with _LOCK:
        return locks.setdefault(parent.run_id, threading.Lock())


def _loaded(ui: Ui, parent: Run) -> tuple[Sweep, dict[str, object], str]:
    """The sweep and its page data, computed again only when the sweep has moved on."""
    cache: dict[str, tuple[object, Sweep, dict[str, object], str]] = ui.cache.setdefault("sweeps", {})
    # One load of a sweep at a time: the page asks for its data and its importances at once, and
    # two threads loading the same 10,000 trials would each take twice as long on a small machine.
    # Per sweep: a poll of another sweep does not wait behind this load.
    with _lock_of(parent):
        state = runs_query.sweep_state(sql_store(ui), parent.run_id)
        known = cache.get(parent.run_id)
        if known is not None and known[0] == state:
            return known[1], known[2], known[3]
        sweep = sweep_of(ui.client, parent)  # its parent is found already: no lookup by tag
        data = payload(ui.client, sweep)
        text = dumps(data)
        with _LOCK:
            if len(cache) >= _CACHED_SWEEPS:
                cache.pop(next(iter(cache)))
            cache[parent.run_id] = (state, sweep, data, text)
        return sweep, data, text


def _importances(ui: Ui, parent: Run) -> object:
    sweep, data, _text = _loaded(ui, parent)
    with _lock_of(parent, _FITTING):  # the warm-up and a request asking at once: one model fit
        return importances(sweep, int(data["finished"]), ui.cache.setdefault("importances", {}))  # type: ignore[call-overload]


def sweep_json(ui: Ui, req: Req) -> object:
    # Polls of an unchanged sweep get the same bytes: half a megabyte is not encoded again.
    return Response(_loaded(ui, _readable_parent(ui, req, req.path["sweep_id"]))[2], media_type="application/json")


def importances_json(ui: Ui, req: Req) -> object:
    """Importances on their own request: a model fit must not hold the rest of the page back."""
    return _importances(ui, _readable_parent(ui, req, req.path["sweep_id"]))


def warm_up(ui: Ui) -> None:
    """Put the newest sweeps' page data and importances in the caches the requests read, newest first.

    For the server's start: the first view of a 10,000-trial sweep then draws as soon as a later
    one would (a load and a model fit of about a second, otherwise inside that view). A sweep that
    moves on meanwhile is read again by its first request, as any changed sweep is.
    """
    store = sql_store(ui)
    for run_id in runs_query.newest_sweeps(store, WARM_SWEEPS):
        parent = store.get_run(run_id)
        _loaded(ui, parent)
        # The first fit imports Optuna's evaluators (scikit-learn: about a second and 100 MB), so a
        # server of plain runs, with no sweep to read ahead, never loads them.
        _importances(ui, parent)


def sweep_page(ui: Ui, req: Req) -> Page:
    parent = _readable_parent(ui, req, req.path["sweep_id"])
    sweep_id = parent.tags.get(layout.SWEEP_ID, req.path["sweep_id"])
    experiment = ui.server.store.get_experiment(parent.experiment_id).name
    crumbs = (("Experiments", "/"), (experiment, experiment_href(experiment)))
    return Page(f"Sweep {sweep_id}", "sweep.js", {"sweep_id": sweep_id, "poll_ms": POLL_MS}, crumbs=crumbs)


def routes(ui: Ui) -> list[Route]:
    return [
        Route("/sweeps/{sweep_id}", page_endpoint(ui, sweep_page), methods=["GET"]),
        Route("/ui/api/sweeps/{sweep_id}", data_endpoint(ui, sweep_json), methods=["GET"]),
        Route("/ui/api/sweeps/{sweep_id}/importances", data_endpoint(ui, importances_json), methods=["GET"]),
    ]
