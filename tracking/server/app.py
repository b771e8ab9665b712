"""The server's ASGI application: every route module mounted on one Starlette app over one store."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tracking.auth.base import Authorizer
from tracking.server import artifacts, grants, leases, lifecycle, metrics, registry, runs
from tracking.server.context import DEFAULT_MAX_ARTIFACT, DEFAULT_MAX_BODY, Server
from tracking.server.errors import http_exception, unexpected
from tracking.store.base import Store
from tracking.uri import resolve_artifact_root
from tracking.wire import API


def build_app(
    store: Store,
    authorizer: Authorizer,
    *,
    artifact_root: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT,
) -> Starlette:
    """The tracking API over ``store``, every route behind ``authorizer`` (health excepted).

    ``artifact_root``: where new experiments keep their artifacts (None: ``$SWEEPS_ARTIFACTS``,
    else ``./artifacts``). Bodies over ``max_body_bytes`` (an artifact: ``max_artifact_bytes``) get 413.
    """
    server = Server(
        store,
        authorizer,
        resolve_artifact_root(artifact_root),
        max_body_bytes=max_body_bytes,
        max_artifact_bytes=max_artifact_bytes,
    )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "auth": bool(authorizer.enabled)})

    routes = [
        Route(f"{API}/health", health, methods=["GET"]),
        *grants.routes(server),
        *metrics.routes(server),
        *artifacts.routes(server),
        *runs.routes(server),
        *lifecycle.routes(server),
        *leases.routes(server),
        *registry.routes(server),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception, Exception: unexpected})
    app.state.server = server
    return app
