"""Lifecycle routes: delete and restore runs (edit) and experiments (manage), rename a run (edit)."""

from __future__ import annotations

from starlette.routing import Route

from tracking.auth.base import Role
from tracking.errors import InvalidParameter
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.validation import check_run_name
from tracking.wire import API


def _need_below(server: Server, call: Call, run_id: str) -> None:
    """A run's deletion takes its children along: the caller must be able to edit each of their
    experiments too (a child may live in another experiment than its parent)."""
    if not server.checks or call.principal.admin:
        return
    frontier, seen = [run_id], {run_id}
    while frontier:
        below = [c for parent in frontier for c in server.store.child_runs(parent) if c.run_id not in seen]
        for child in below:
            seen.add(child.run_id)
            server.need_experiment(call.principal, child.experiment_id, Role.EDIT)
        frontier = [c.run_id for c in below]


def delete_run(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    _need_below(server, call, run_id)
    return {"run_ids": server.store.delete_run(run_id)}


def restore_run(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    return {"run_ids": server.store.restore_run(run_id)}


def set_run_name(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    name = check_run_name(f.text(call.json(), "name"))
    if name is None:
        raise InvalidParameter("a run's new name must not be empty")
    server.store.set_run_name(run_id, name)
    return {}


def _experiment_id(call: Call) -> int:
    experiment_id = f.parse_int(call.path["experiment_id"], "experiment id")
    assert experiment_id is not None  # a path parameter is never absent
    return experiment_id


def delete_experiment(server: Server, call: Call) -> object:
    experiment_id = _experiment_id(call)
    server.need_experiment(call.principal, experiment_id, Role.MANAGE)
    return {"runs": server.store.delete_experiment(experiment_id)}


def restore_experiment(server: Server, call: Call) -> object:
    experiment_id = _experiment_id(call)
    server.need_experiment(call.principal, experiment_id, Role.MANAGE)
    return {"runs": server.store.restore_experiment(experiment_id)}


def routes(server: Server) -> list[Route]:
    def r(path: str, route, method: str = "POST") -> Route:  # type: ignore[no-untyped-def]
        return Route(f"{API}{path}", endpoint(server, route), methods=[method])

    return [
        r("/runs/{run_id}/delete", delete_run),
        r("/runs/{run_id}/restore", restore_run),
        r("/runs/{run_id}/name", set_run_name),
        r("/experiments/{experiment_id}/delete", delete_experiment),
        r("/experiments/{experiment_id}/restore", restore_experiment),
    ]
