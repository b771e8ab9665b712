"""The live UI (SPEC §9): HTML pages and their JSON data as Starlette routes over a tracking server.

`add_ui(app)` puts the pages on the app `tracking.server.build_app` made, next to the API.
"""

from __future__ import annotations

import contextlib
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
    threading.Thread(target=_import_importances, name="sweeps-ui-warm-up", daemon=True).start()
    return ui


def _import_importances() -> None:
    """Import what a sweep's importances need (Optuna's evaluators load scikit-learn: about a
    second) while the server waits for its first request, not during a sweep's first view."""
    with contextlib.suppress(ImportError):  # the request that needs it says what is missing
        import optuna.importance  # noqa: F401
