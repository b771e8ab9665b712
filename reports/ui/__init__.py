"""The live UI (SPEC §9): HTML pages and their JSON data as Starlette routes over a tracking server.

`add_ui(app)` puts the pages on the app `tracking.server.build_app` made, next to the API.
"""

from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from reports.ui import compare_page, experiments_page, models_page, run_page, signin, static_files, sweep_page
from reports.ui.core import Ui
from tracking import TrackingClient
from tracking.auth.ui_sessions import SqlSessions
from tracking.server.context import Server
from tracking.store.sql_store import SqlStore

__all__ = ["Ui", "add_ui", "ui_routes"]

_LOG = logging.getLogger(__name__)


def ui_routes(ui: Ui) -> list[BaseRoute]:
    return [
        *static_files.routes(),
        *signin.routes(ui),
        *experiments_page.routes(ui),
        *run_page.routes(ui),
        *sweep_page.routes(ui),
        *compare_page.routes(ui),
        *models_page.routes(ui),
    ]


def add_ui(app: Starlette, *, secure_cookies: bool = False) -> Ui:
    """Add the UI to a tracking server's app; ``secure_cookies`` when it is served over HTTPS."""
    server: Server = app.state.server
    # A reading client over the server's own store: the report's loaders take a client.
    client = TrackingClient(store=server.store, artifacts=server.artifact_root, user="ui")
    # Sessions live in the store: with `--workers > 1` any worker may answer a signed-in request.
    sessions = SqlSessions(server.store.engine) if server.checks and isinstance(server.store, SqlStore) else None
    ui = Ui(server, client, sessions=sessions, secure_cookies=secure_cookies)
    app.router.routes.extend(ui_routes(ui))
    app.state.ui = ui
    threading.Thread(target=_warm_up, args=(ui,), name="sweeps-ui-warm-up", daemon=True).start()
    return ui


def _warm_up(ui: Ui) -> None:
    """The newest sweeps read ahead while the server waits for its first request. Only a cache:
    a store that cannot be read here says why to the request that reads it."""
    try:
        sweep_page.warm_up(ui)
    except Exception as exc:  # a background cache fill must never take the server down
        _LOG.warning("the UI did not read the newest sweeps ahead: %s", exc)
