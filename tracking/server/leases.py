"""Sweep lease routes: a driver takes, renews and gives back its sweep's lease (edit on the sweep's
run); anyone who may read the run may see who holds it. Expiry runs on the server's clock."""

from __future__ import annotations

from starlette.routing import Route

from tracking.auth.base import Role
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.wire import API, WireError, lease_to


def _ttl(body: dict) -> float:
    value = body.get("ttl_s")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"field 'ttl_s' must be a number, got {type(value).__name__}")
    return float(value)


def acquire(server: Server, call: Call) -> object:
    run_id, body = f.run_ref(call.path["run_id"]), call.json()
    server.need_run(call.principal, run_id, Role.EDIT)
    lease = server.store.acquire_lease(
        run_id, f.text(body, "owner"), f.text(body, "host"), f.integer(body, "pid"), _ttl(body)
    )
    return lease_to(lease)


def renew(server: Server, call: Call) -> object:
    run_id, body = f.run_ref(call.path["run_id"]), call.json()
    server.need_run(call.principal, run_id, Role.EDIT)
    return lease_to(server.store.renew_lease(run_id, f.text(body, "owner"), _ttl(body)))


def release(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.EDIT)
    server.store.release_lease(run_id, f.text(call.json(), "owner"))
    return {}


def get(server: Server, call: Call) -> object:
    run_id = f.run_ref(call.path["run_id"])
    server.need_run(call.principal, run_id, Role.READ)
    lease = server.store.get_lease(run_id)
    return None if lease is None else lease_to(lease)


def routes(server: Server) -> list[Route]:
    def r(path: str, route, method: str) -> Route:  # type: ignore[no-untyped-def]
        return Route(f"{API}{path}", endpoint(server, route), methods=[method])

    return [
        r("/runs/{run_id}/lease", get, "GET"),
        r("/runs/{run_id}/lease", acquire, "POST"),
        r("/runs/{run_id}/lease/renew", renew, "POST"),
        r("/runs/{run_id}/lease/release", release, "POST"),
    ]
