"""Who-am-I and grant routes: a caller with MANAGE on an experiment or model may grant roles on it."""

from __future__ import annotations

from starlette.routing import Route

from tracking.auth.base import Role
from tracking.errors import InvalidParameter
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.wire import API


def whoami(server: Server, call: Call) -> object:
    return {"user": call.principal.user, "admin": call.principal.admin, "auth": server.checks}


def _target(server: Server, call: Call, body: dict) -> tuple[int | None, str | None]:
    """The one experiment or model a grant is about, after checking the caller manages it."""
    experiment_id, model = f.opt_integer(body, "experiment_id"), f.opt_text(body, "model_name")
    if (experiment_id is None) == (model is None):
        raise InvalidParameter("a grant names exactly one of experiment_id and model_name")
    if experiment_id is not None:
        server.need_experiment(call.principal, experiment_id, Role.MANAGE)
    else:
        assert model is not None
        server.need_model(call.principal, model, Role.MANAGE)
    return experiment_id, model


def grant(server: Server, call: Call) -> object:
    body = call.json()
    try:
        role = Role.parse(f.text(body, "role"))
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None
    experiment_id, model = _target(server, call, body)
    server.authorizer.grant(f.text(body, "user"), role, experiment_id=experiment_id, model_name=model)
    return {}


def revoke(server: Server, call: Call) -> object:
    body = call.json()
    experiment_id, model = _target(server, call, body)
    server.authorizer.revoke(f.text(body, "user"), experiment_id=experiment_id, model_name=model)
    return {}


def routes(server: Server) -> list[Route]:
    return [
        Route(f"{API}/whoami", endpoint(server, whoami), methods=["GET"]),
        Route(f"{API}/grants", endpoint(server, grant), methods=["POST"]),
        Route(f"{API}/grants/revoke", endpoint(server, revoke), methods=["POST"]),
    ]
