"""`/models`, `/models/{name}`, `/models/{name}/versions/{n}` and the alias / stage / promote actions.

Every action is checked here, on the server, with the roles of SPEC §8 (the page only hides
buttons a role could not use); each needs the session's CSRF token (`core.data_endpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.routing import Route

from reports.ui.core import Page, Req, Ui, data_endpoint, page_endpoint
from tracking import Run
from tracking.auth.base import Principal, Role
from tracking.errors import InvalidParameter, ModelNotFound, PermissionDenied, RunNotFound
from tracking.registry import ModelRegistry
from tracking.registry.entities import CHAMPION, AuditEntry, ModelVersion, Stage
from tracking.registry.lineage import lineage


def _audit(a: AuditEntry) -> dict[str, object]:
    return {
        "at": a.at,
        "version": a.version,
        "action": a.action,
        "subject": a.subject,
        "from": a.from_value,
        "to": a.to_value,
        "actor": a.actor,
        "reason": a.reason,
    }


def _version(v: ModelVersion) -> dict[str, object]:
    return {
        "version": v.version,
        "run_id": v.run_id,
        "source": v.source,
        "stage": str(v.stage.value),
        "aliases": list(v.aliases),
        "created_at": v.created_at,
        "description": v.description,
        "tags": dict(v.tags),
    }


def _role(ui: Ui, principal: Principal, name: str) -> Role:
    role = ui.server.model_role(principal, name)
    if role is None:
        raise ModelNotFound(f"no registered model named {name!r}")
    return role


def models_page(ui: Ui, req: Req) -> Page:
    readable = ui.server.readable_models(req.principal)
    models = [m for m in ui.server.registry.list_models() if readable is None or m.name in readable]
    data = {
        "models": [
            {
                "name": m.name,
                "latest": m.latest_version,
                "aliases": dict(m.aliases),
                "updated_at": m.updated_at,
                "description": m.description,
            }
            for m in models
        ]
    }
    return Page("Models", "models.js", data, charts=False)


def model_data(ui: Ui, req: Req) -> dict[str, object]:
    name = req.path["name"]
    role = _role(ui, req.principal, name)
    model = ui.server.registry.get_model(name)
    protected = sorted(ui.server.authorizer.protected_aliases(name)) if ui.auth else []
    return {
        "name": model.name,
        "description": model.description,
        "tags": dict(model.tags),
        "aliases": dict(model.aliases),
        "versions": [_version(v) for v in ui.server.registry.list_versions(name)],
        "audit": [_audit(a) for a in ui.server.registry.audit_log(name)],
        "role": role.name.lower(),
        "can": {"alias": role >= Role.EDIT, "stage": role >= Role.MANAGE, "promote": role >= Role.EDIT},
        "protected": protected,
        "stages": [s.value for s in Stage],
    }


def model_page(ui: Ui, req: Req) -> Page:
    data = model_data(ui, req)
    return Page(f"Model {data['name']}", "model.js", data, charts=False, crumbs=(("Models", "/models"),))


def version_page(ui: Ui, req: Req) -> Page:
    name = req.path["name"]
    _role(ui, req.principal, name)
    try:
        number = int(req.path["version"])
    except ValueError:
        raise ModelNotFound(f"model {name!r} has no version {req.path['version']!r}") from None
    found = lineage(ui.client, name, number).to_dict()
    run_id = found["run"]["run_id"]  # type: ignore[index]
    if run_id and not _may_read_run(ui, req.principal, str(run_id)):
        # Read on the model is not read on the experiment its run belongs to: show no more than the id.
        found["run"] = {"run_id": None, "status": None, "params": {}, "metrics": {}, "data_tags": {}}
        found["sweep"] = None
        found["notes"] = [*found["notes"], "the version's run is in an experiment you have no grant on"]  # type: ignore[misc]
    crumbs = (("Models", "/models"), (name, f"/models/{quote(name, safe='')}"))
    return Page(f"{name} v{number}", "version.js", {"lineage": found}, charts=False, crumbs=crumbs)


def _may_read_run(ui: Ui, principal: Principal, run_id: str) -> bool:
    try:
        ui.server.need_run(principal, run_id, Role.READ)
    except (RunNotFound, PermissionDenied):
        return False
    return True


# -- actions ------------------------------------------------------------------------------------


def _need_alias(ui: Ui, principal: Principal, name: str, alias: str, reason: str | None) -> None:
    """EDIT moves an alias; a protected one needs MANAGE and a reason (as the API's routes say)."""
    ui.server.need_model(principal, name, Role.EDIT)
    if not ui.auth or alias not in ui.server.authorizer.protected_aliases(name):
        return
    ui.server.need_model(principal, name, Role.MANAGE)
    if not (reason or "").strip():
        raise PermissionDenied(f"alias @{alias} of model {name!r} is protected: moving it needs a reason")


def _text(req: Req, key: str, required: bool = True) -> str | None:
    value = req.body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidParameter(f"{key} is required")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidParameter(f"{key} must be text")
    return str(value).strip()


def registry(ui: Ui) -> ModelRegistry:
    """One registry for the UI's actions (each names its actor: the signed-in user)."""
    found = ui.cache.get("registry")
    if not isinstance(found, ModelRegistry):
        found = ui.cache["registry"] = ModelRegistry(_Host(ui, "ui"), ui.server.registry)
    return found


def set_alias(ui: Ui, req: Req) -> object:
    name, alias, reason = req.path["name"], _text(req, "alias") or "", _text(req, "reason", False)
    _role(ui, req.principal, name)  # an invisible model is unknown, not forbidden
    _need_alias(ui, req.principal, name, alias, reason)
    version = int(_text(req, "version") or 0)
    return _version(registry(ui).set_alias(name, alias, version, reason=reason, actor=req.principal.user))


def set_stage(ui: Ui, req: Req) -> object:
    name = req.path["name"]
    _role(ui, req.principal, name)
    ui.server.need_model(req.principal, name, Role.MANAGE)
    moved = registry(ui).transition_stage(
        name,
        int(_text(req, "version") or 0),
        _text(req, "stage") or "",
        archive_existing=bool(req.body.get("archive_existing")),
        reason=_text(req, "reason", False),
        actor=req.principal.user,
    )
    return _version(moved)


def promote(ui: Ui, req: Req) -> object:
    name, reason = req.path["name"], _text(req, "reason", False)
    _role(ui, req.principal, name)
    _need_alias(ui, req.principal, name, CHAMPION, reason)  # a promotion moves @champion
    decision = registry(ui).promote(
        name,
        _text(req, "metric") or "",
        _text(req, "goal") or "maximize",
        float(_text(req, "min_delta", False) or 0.0),
        reason=reason,
        actor=req.principal.user,
    )
    return {"promoted": decision.promoted, "reason": decision.reason}


@dataclass(frozen=True)
class _Host:
    """The registry's host for a promotion on runs: the acting user and read access to runs."""

    ui: Ui
    user: str

    def get_run(self, run_id: str) -> Run:
        return self.ui.server.store.get_run(run_id)

    def artifacts(self, run_id: str):  # type: ignore[no-untyped-def]
        return self.ui.server.store.artifacts(self.get_run(run_id))


def routes(ui: Ui) -> list[Route]:
    action = {"action": True}
    return [
        Route("/models", page_endpoint(ui, models_page), methods=["GET"]),
        Route("/models/{name}", page_endpoint(ui, model_page), methods=["GET"]),
        Route("/models/{name}/versions/{version}", page_endpoint(ui, version_page), methods=["GET"]),
        Route("/ui/api/models/{name}", data_endpoint(ui, model_data), methods=["GET"]),
        Route("/ui/api/models/{name}/alias", data_endpoint(ui, set_alias, **action), methods=["POST"]),
        Route("/ui/api/models/{name}/stage", data_endpoint(ui, set_stage, **action), methods=["POST"]),
        Route("/ui/api/models/{name}/promote", data_endpoint(ui, promote, **action), methods=["POST"]),
    ]
