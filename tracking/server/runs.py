"""Experiment and run routes: create, read, end, search, params and tags, each behind its role check."""

from __future__ import annotations

from starlette.routing import Route

from tracking.auth.base import Role
from tracking.entities import RunStatus
from tracking.errors import ExperimentNotFound, InvalidParameter, RunNotFound
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.validation import check_key, check_run_id, check_run_name, param_text
from tracking.wire import API, experiment_to, run_to


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text)
    except ValueError:
        choices = ", ".join(s.value for s in RunStatus)
        raise InvalidParameter(f"unknown run status {text!r}; use one of {choices}") from None


def _pairs(kind: str, values: dict[str, str]) -> dict[str, str]:
    return {check_key(kind, k): param_text(k, v) for k, v in values.items()}


# -- experiments ----------------------------------------------------------------------------


def list_experiments(server: Server, call: Call) -> object:
    readable = server.readable(call.principal)
    found = server.store.list_experiments()
    return [experiment_to(e) for e in found if readable is None or e.experiment_id in readable]


def experiment_by_name(server: Server, call: Call) -> object:
    name = f.text({"name": call.query.get("name", "")}, "name")
    found = server.store.get_experiment_by_name(name)
    if found is None or not server.visible_run(call.principal, found.experiment_id):
        return None
    return experiment_to(found)


def get_experiment(server: Server, call: Call) -> object:
    experiment_id = f.parse_int(call.path["experiment_id"], "experiment id")
    assert experiment_id is not None
    server.need_experiment(call.principal, experiment_id, Role.READ)
    return experiment_to(server.store.get_experiment(experiment_id))


def create_experiment(server: Server, call: Call) -> object:
    name = check_key("experiment", f.text(call.json(), "name"))
    existing = server.store.get_experiment_by_name(name)
    if existing is not None:
        if not server.visible_run(call.principal, existing.experiment_id):
            raise ExperimentNotFound(
                f"experiment {name!r} is not visible to user {call.principal.user!r}; "
                f"ask its manager for a grant (sweeps auth grant {call.principal.user} edit --experiment {name})"
            )
        return experiment_to(existing)
    created = server.store.get_or_create_experiment(name, server.artifact_root)
    if server.checks:
        server.authorizer.created_experiment(call.principal, created.experiment_id)
    return experiment_to(created)


# -- runs -------------------------------------------------------------------------------------


def create_run(server: Server, call: Call) -> object:
    body = call.json()
    experiment_id = f.integer(body, "experiment_id")
    server.need_experiment(call.principal, experiment_id, Role.EDIT)
    parent = f.opt_text(body, "parent_run_id")
    if parent is not None:
        f.run_ref(parent)
        server.need_run(call.principal, parent, Role.READ)
    run_id = f.opt_text(body, "run_id")
    run = server.store.create_run(
        server.store.get_experiment(experiment_id),
        name=check_run_name(f.opt_text(body, "name")),
        parent_run_id=parent,
        tags=_pairs("tag", f.texts(body, "tags")),
        params=_pairs("param", f.texts(body, "params")),
        user=server.user(call.principal, f.opt_text(body, "user")),
        run_id=None if run_id is None else check_run_id(run_id),
    )
    server.remember_run(run.run_id, run.experiment_id)  # its first points need no lookup
    return run_to(run)


def get_run(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    run = server.store.get_run(run_id)
    if not server.visible_run(call.principal, run.experiment_id):
        raise RunNotFound(f"no run with id {run_id!r}")
    return run_to(run)


def _visible(server: Server, call: Call, runs: list) -> list[dict]:
    readable = server.readable(call.principal)
    return [run_to(r) for r in runs if readable is None or r.experiment_id in readable]


def get_runs(server: Server, call: Call) -> object:
    return _visible(server, call, server.store.get_runs(f.run_refs(f.text_list(call.json(), "run_ids"))))


def child_runs(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.READ)
    return _visible(server, call, server.store.child_runs(run_id))


def run_status(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.READ)
    return {"status": server.store.run_status(run_id).value}


def end_run(server: Server, call: Call) -> object:
    run_id, body = f.run_ref(call.path["run_id"]), call.json()
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.end_run(run_id, _status(f.text(body, "status")), f.opt_text(body, "error"))
    return {}


def set_run_status(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.set_run_status(run_id, _status(f.text(call.json(), "status")))
    return {}


def count_runs(server: Server, call: Call) -> object:
    experiment_id = f.parse_int(call.query.get("experiment_id"), "experiment_id")
    if experiment_id is not None:
        server.need_experiment(call.principal, experiment_id, Role.READ)
        return {"count": server.store.count_runs(experiment_id)}
    readable = server.readable(call.principal)
    if readable is None:
        return {"count": server.store.count_runs()}
    return {"count": sum(server.store.count_runs(e) for e in readable)}


def runs_with_tag(server: Server, call: Call) -> object:
    body = call.json()
    return _visible(server, call, server.store.runs_with_tag(f.text(body, "key"), f.opt_text(body, "value")))


def search_runs(server: Server, call: Call) -> object:
    body = call.json()
    ids = f.int_list(body, "experiment_ids")
    for experiment_id in ids:
        server.need_experiment(call.principal, experiment_id, Role.READ)
    readable = server.readable(call.principal)
    if not ids and readable is not None:
        ids = sorted(readable)  # "every experiment" is every one the caller may read
        if not ids:
            return []
    parent = f.opt_text(body, "parent_run_id")
    if parent is not None and not f.run_refs([parent]):
        return []
    lifecycle = f.opt_text(body, "lifecycle") or "active"  # soft-deleted runs only when asked for
    filter_text, order_by = f.opt_text(body, "filter"), f.text_list(body, "order_by")
    runs = server.store.search_runs(ids, filter_text, order_by, f.integer(body, "max_results"), parent, lifecycle)
    return _visible(server, call, runs)


def log_params(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.log_params(run_id, _pairs("param", f.texts(call.json(), "params")))
    return {}


def set_tags(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.set_tags(run_id, _pairs("tag", f.texts(call.json(), "tags")))
    return {}


def delete_tag(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.delete_tag(run_id, check_key("tag", f.text(call.json(), "key")))
    return {}


def routes(server: Server) -> list[Route]:
    def r(path: str, route, method: str) -> Route:  # type: ignore[no-untyped-def]
        return Route(f"{API}{path}", endpoint(server, route), methods=[method])

    return [
        r("/experiments", list_experiments, "GET"),
        r("/experiments", create_experiment, "POST"),
        r("/experiments/by-name", experiment_by_name, "GET"),
        r("/experiments/{experiment_id}", get_experiment, "GET"),
        r("/runs", create_run, "POST"),
        r("/runs/get", get_runs, "POST"),
        r("/runs/count", count_runs, "GET"),
        r("/runs/with-tag", runs_with_tag, "POST"),
        r("/runs/search", search_runs, "POST"),
        r("/runs/{run_id}", get_run, "GET"),
        r("/runs/{run_id}/children", child_runs, "GET"),
        r("/runs/{run_id}/status", run_status, "GET"),
        r("/runs/{run_id}/status", set_run_status, "POST"),
        r("/runs/{run_id}/end", end_run, "POST"),
        r("/runs/{run_id}/params", log_params, "POST"),
        r("/runs/{run_id}/tags", set_tags, "POST"),
        r("/runs/{run_id}/tags/delete", delete_tag, "POST"),
    ]
