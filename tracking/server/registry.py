"""Model registry routes: models, versions, aliases (protected ones need MANAGE and a reason),
stages, audit and promotion; the audit's ``who`` is the authenticated user."""

from __future__ import annotations

from starlette.routing import Route

from tracking.auth.base import Principal, Role
from tracking.errors import ModelNotFound, PermissionDenied, RegistryError
from tracking.registry import SHA256_TAG, Stage, check_alias, check_model_name
from tracking.registry.entities import CHAMPION
from tracking.server import fields as f
from tracking.server.context import Call, Server, endpoint
from tracking.server.fields import parse_int
from tracking.validation import check_key, param_text
from tracking.webhooks import check_events, check_url
from tracking.webhooks.entities import webhook_to
from tracking.wire import API, WireError, audit_to, decision_from, model_to, version_to


def _name(call: Call) -> str:
    return check_model_name(call.path["name"])


def _version(call: Call) -> int:
    version = parse_int(call.path["version"], "version")
    assert version is not None
    return version


def _tags(body: dict) -> dict[str, str]:
    return {check_key("tag", k): param_text(k, v) for k, v in f.texts(body, "tags").items()}


def _stage(text: str | None) -> Stage | None:
    return None if text is None else Stage.parse(text)


def _exists(server: Server, name: str) -> bool:
    try:
        server.registry.get_model(name)
    except ModelNotFound:
        return False
    return True


def _need_alias(server: Server, principal: Principal, name: str, alias: str, reason: str | None) -> None:
    """Moving ``alias``: EDIT, and for a protected alias MANAGE with a reason."""
    server.need_model(principal, name, Role.EDIT)
    if not server.checks or alias not in server.authorizer.protected_aliases(name):
        return
    server.need_model(principal, name, Role.MANAGE)
    if not (reason or "").strip():
        raise PermissionDenied(f"alias @{alias} of model {name!r} is protected: moving it needs a reason (--reason)")


def _actor(server: Server, call: Call, body: dict) -> str:
    return server.user(call.principal, f.opt_text(body, "actor"))


# -- models -------------------------------------------------------------------------------------


def create_model(server: Server, call: Call) -> object:
    body = call.json()
    name = check_model_name(f.text(body, "name"))
    created = server.registry.create_model(name, f.opt_text(body, "description"), _tags(body))
    if server.checks:
        server.authorizer.created_model(call.principal, name)
    return model_to(created)


def list_models(server: Server, call: Call) -> object:
    readable = server.readable_models(call.principal)
    return [model_to(m) for m in server.registry.list_models() if readable is None or m.name in readable]


def get_model(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return model_to(server.registry.get_model(name))


def set_model_tags(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.EDIT)
    server.registry.set_model_tags(name, _tags(call.json()))
    return {}


# -- versions ---------------------------------------------------------------------------------


def register_version(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    run_id, source = f.run_ref(f.text(body, "run_id")), f.text(body, "source")
    if not source.startswith(f"runs:/{run_id}/"):
        raise WireError(f"source {source!r} must be runs:/{run_id}/<path>, the model of the run registered")
    alias, reason = f.opt_text(body, "alias"), f.opt_text(body, "reason")
    if alias is not None:
        check_alias(alias)
    server.need_run(call.principal, run_id, Role.READ)
    first = not _exists(server, name)
    if not first:
        server.need_model(call.principal, name, Role.EDIT)
        if alias is not None:
            _need_alias(server, call.principal, name, alias, reason)
    version = server.registry.register_version(
        name,
        run_id=run_id,
        source=source,
        description=f.opt_text(body, "description"),
        tags=_tags(body),
        actor=_actor(server, call, body),
        reason=reason,
        alias=alias,
    )
    if first and server.checks:
        server.authorizer.created_model(call.principal, name)
    return version_to(version)


def list_versions(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return [version_to(v) for v in server.registry.list_versions(name, _stage(call.query.get("stage")))]


def latest_version(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return version_to(server.registry.latest_version(name, _stage(call.query.get("stage"))))


def get_version(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return version_to(server.registry.get_version(name, _version(call)))


def set_version_tags(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.EDIT)
    tags = _tags(call.json())
    if SHA256_TAG in tags:
        raise RegistryError(f"tag {SHA256_TAG!r} is kept by the registry and cannot be set")
    server.registry.set_version_tags(name, _version(call), tags)
    return {}


def delete_version(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    server.need_model(call.principal, name, Role.MANAGE)  # it takes the version's aliases with it
    server.registry.delete_version(
        name, _version(call), actor=_actor(server, call, body), reason=f.opt_text(body, "reason")
    )
    return {}


# -- aliases, stages, audit, promotion -----------------------------------------------------------


def set_alias(server: Server, call: Call) -> object:
    name, alias, body = _name(call), check_alias(call.path["alias"]), call.json()
    reason = f.opt_text(body, "reason")
    _need_alias(server, call.principal, name, alias, reason)
    moved = server.registry.set_alias(
        name, alias, f.integer(body, "version"), actor=_actor(server, call, body), reason=reason
    )
    return version_to(moved)


def delete_alias(server: Server, call: Call) -> object:
    name, alias, body = _name(call), call.path["alias"], call.json()
    reason = f.opt_text(body, "reason")
    _need_alias(server, call.principal, name, alias, reason)
    server.registry.delete_alias(name, alias, actor=_actor(server, call, body), reason=reason)
    return {}


def version_by_alias(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return version_to(server.registry.version_by_alias(name, call.path["alias"]))


def transition_stage(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    moved = server.registry.transition_stage(
        name,
        _version(call),
        Stage.parse(f.text(body, "stage")),
        archive_existing=f.flag(body, "archive_existing"),
        actor=_actor(server, call, body),
        reason=f.opt_text(body, "reason"),
    )
    return version_to(moved)


def audit_log(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return [audit_to(a) for a in server.registry.audit_log(name)]


def record_promotion(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    raw = body.get("decision")
    if not isinstance(raw, dict):
        raise WireError("field 'decision' must be an object")
    try:
        decision = decision_from(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"field 'decision' is not a promotion decision: {exc}") from None
    if decision.name != name:
        raise WireError(f"the decision is about model {decision.name!r}, not {name!r}")
    reason = f.text(body, "reason")
    _need_alias(server, call.principal, name, CHAMPION, reason)
    server.registry.record_promotion(decision, actor=_actor(server, call, body), reason=reason)
    return {}


# -- governance: protected aliases and webhooks (issue 15) -----------------------------------------


def protect_alias(server: Server, call: Call) -> object:
    name, alias, body = _name(call), check_alias(call.path["alias"]), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    changed = server.registry.protect_alias(
        name, alias, actor=_actor(server, call, body), reason=f.opt_text(body, "reason")
    )
    return {"changed": changed}


def unprotect_alias(server: Server, call: Call) -> object:
    name, alias, body = _name(call), check_alias(call.path["alias"]), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    server.registry.unprotect_alias(name, alias, actor=_actor(server, call, body), reason=f.text(body, "reason"))
    return {}


def protected_aliases(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.READ)
    return sorted(server.registry.protected_aliases(name))


def add_webhook(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    url, secret = check_url(f.text(body, "url")), f.text(body, "secret")
    if len(secret) < 8:
        raise RegistryError("a webhook secret must be at least 8 characters: the receiver checks signatures with it")
    raw = body.get("events")
    events = check_events([str(e) for e in raw] if isinstance(raw, list) else None)
    return webhook_to(server.registry.add_webhook(name, url, secret, events, actor=_actor(server, call, body)))


def list_webhooks(server: Server, call: Call) -> object:
    name = _name(call)
    server.need_model(call.principal, name, Role.MANAGE)  # URLs may say more than READ should see
    return [webhook_to(w) for w in server.registry.list_webhooks(name)]


def remove_webhook(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    server.registry.remove_webhook(name, _webhook_id(call), actor=_actor(server, call, body))
    return {}


def redeliver_webhook(server: Server, call: Call) -> object:
    name, body = _name(call), call.json()
    server.need_model(call.principal, name, Role.MANAGE)
    # The server's own outbox loop delivers them: it takes every pending event.
    return {"queued": server.registry.redeliver_webhook(name, _webhook_id(call), actor=_actor(server, call, body))}


def _webhook_id(call: Call) -> int:
    webhook_id = parse_int(call.path["webhook_id"], "webhook_id")
    assert webhook_id is not None
    return webhook_id


def routes(server: Server) -> list[Route]:
    def r(path: str, route, method: str) -> Route:  # type: ignore[no-untyped-def]
        return Route(f"{API}/models{path}", endpoint(server, route), methods=[method])

    return [
        r("", list_models, "GET"),
        r("", create_model, "POST"),
        r("/{name}", get_model, "GET"),
        r("/{name}/tags", set_model_tags, "POST"),
        r("/{name}/versions", list_versions, "GET"),
        r("/{name}/versions", register_version, "POST"),
        r("/{name}/versions/latest", latest_version, "GET"),
        r("/{name}/versions/{version}", get_version, "GET"),
        r("/{name}/versions/{version}/tags", set_version_tags, "POST"),
        r("/{name}/versions/{version}/delete", delete_version, "POST"),
        r("/{name}/versions/{version}/stage", transition_stage, "POST"),
        r("/{name}/aliases/{alias}", version_by_alias, "GET"),
        r("/{name}/aliases/{alias}", set_alias, "PUT"),
        r("/{name}/aliases/{alias}/delete", delete_alias, "POST"),
        r("/{name}/audit", audit_log, "GET"),
        r("/{name}/promotion", record_promotion, "POST"),
        r("/{name}/protected", protected_aliases, "GET"),
        r("/{name}/protected/{alias}", protect_alias, "POST"),
        r("/{name}/protected/{alias}/delete", unprotect_alias, "POST"),
        r("/{name}/webhooks", list_webhooks, "GET"),
        r("/{name}/webhooks", add_webhook, "POST"),
        r("/{name}/webhooks/{webhook_id}/delete", remove_webhook, "POST"),
        r("/{name}/webhooks/{webhook_id}/redeliver", redeliver_webhook, "POST"),
    ]
