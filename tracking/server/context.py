"""What every route shares: the server's store and authorizer, the caller, role checks, and the
wrapper that reads a bounded body, runs the route in the threadpool and turns errors into JSON."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from tracking.auth.base import Authorizer, Principal, Role
from tracking.errors import ExperimentNotFound, ModelNotFound, PermissionDenied, RunNotFound
from tracking.registry.store import RegistryStore
from tracking.server.errors import error_response
from tracking.server.limits import read_body
from tracking.store.base import Store
from tracking.wire import JSON_TYPE, WireError, dumps, loads

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # a points batch of ~2.5 M points; records are far smaller
DEFAULT_MAX_ARTIFACT = 16 * 1024**3  # one artifact file
_RUN_CACHE = 100_000


@dataclass
class Server:
    """The one store, registry and authorizer of a server process (all thread-safe)."""

    store: Store
    authorizer: Authorizer
    artifact_root: str
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT
    _registry: RegistryStore | None = None
    # Runs never change experiment: the role check of a run's write needs no query after the first.
    _run_experiment: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def registry(self) -> RegistryStore:
        if self._registry is None:
            self._registry = self.store.registry_store()
        return self._registry

    @property
    def checks(self) -> bool:
        """False under the open authorizer: every caller is admin, no check can refuse."""
        return bool(self.authorizer.enabled)

    def user(self, principal: Principal, claimed: str | None) -> str:
        """Who did it: the authenticated user; without auth (``sweeps ui``) the client's own name."""
        if self.checks or not claimed:
            return principal.user
        return claimed

    # -- experiments and runs ------------------------------------------------------------

    def readable(self, principal: Principal) -> frozenset[int] | None:
        return self.authorizer.readable_experiments(principal) if self.checks else None

    def need_experiment(self, principal: Principal, experiment_id: int, need: Role) -> None:
        if not self.checks:
            return
        role = self.authorizer.experiment_role(principal, experiment_id)
        if role is None:
            raise ExperimentNotFound(f"no experiment with id {experiment_id}")
        if role < need:
            raise PermissionDenied(
                f"user {principal.user!r} has {role.name.lower()} on experiment {experiment_id}; "
                f"this needs {need.name.lower()}"
            )

    def experiment_of(self, run_id: str) -> int:
        """The experiment of a run; `RunNotFound` for an unknown id."""
        known = self._run_experiment.get(run_id)
        if known is not None:
            return known
        experiment_id = self.store.get_run(run_id).experiment_id
        self.remember_run(run_id, experiment_id)
        return experiment_id

    def remember_run(self, run_id: str, experiment_id: int) -> None:
        """Cache a run's experiment (it never changes), e.g. for the run this server just created."""
        with self._lock:
            if len(self._run_experiment) >= _RUN_CACHE:
                self._run_experiment.clear()
            self._run_experiment[run_id] = experiment_id

    def need_run(self, principal: Principal, run_id: str, need: Role) -> None:
        """The caller may do ``need`` on the run; an invisible run is as unknown as a missing one."""
        if not self.checks:
            return
        try:
            experiment_id = self.experiment_of(run_id)
            self.need_experiment(principal, experiment_id, need)
        except ExperimentNotFound:
            raise RunNotFound(f"no run with id {run_id!r}") from None
        except PermissionDenied:
            raise PermissionDenied(
                f"user {principal.user!r} may read run {run_id} but not change it (needs {need.name.lower()})"
            ) from None

    def visible_run(self, principal: Principal, experiment_id: int) -> bool:
        readable = self.readable(principal)
        return readable is None or experiment_id in readable

    # -- registered models ---------------------------------------------------------------

    def model_role(self, principal: Principal, name: str) -> Role | None:
        return self.authorizer.model_role(principal, name) if self.checks else Role.MANAGE

    def need_model(self, principal: Principal, name: str, need: Role) -> None:
        if not self.checks:
            return
        role = self.authorizer.model_role(principal, name)
        if role is None:
            raise ModelNotFound(f"no registered model named {name!r}; `sweeps models list` shows the registered ones")
        if role < need:
            raise PermissionDenied(
                f"user {principal.user!r} has {role.name.lower()} on model {name!r}; this needs {need.name.lower()}"
            )

    def readable_models(self, principal: Principal) -> frozenset[str] | None:
        return self.authorizer.readable_models(principal) if self.checks else None


@dataclass
class Call:
    """One request as a route sees it: the caller, the path and query values, the body."""

    principal: Principal
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data = loads(self.body) if self.body else {}
        if not isinstance(data, dict):
            raise WireError("request body must be a JSON object")
        return data


Route = Callable[[Server, Call], object]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(server: Server, request: Request) -> Principal:
    """The request's principal; a real authorizer may query its store, so it runs in the threadpool."""
    if not server.checks:
        return server.authorizer.authenticate(None)
    return await run_in_threadpool(server.authorizer.authenticate, bearer(request))


def endpoint(server: Server, route: Route) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint around ``route``: authenticate, read the body (bounded), call the route
    in the threadpool (store calls block), answer JSON (or the route's own `Response`)."""

    async def handle(request: Request) -> Response:
        try:
            principal = await authenticate(server, request)
            body = await read_body(request, server.max_body_bytes)
            call = Call(principal, request.path_params, request.query_params, body)
            result = await run_in_threadpool(route, server, call)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        except Exception as exc:  # every failure becomes a JSON error, never a traceback
            return error_response(exc)
        if isinstance(result, Response):
            return result
        return Response(dumps(result), media_type=JSON_TYPE)

    return handle
