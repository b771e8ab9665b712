"""The server process: the store, the authorizer and the app, built from a `ServerConfig`.

uvicorn with ``--workers > 1`` imports `app_factory` in every worker process; the config then
travels in environment variables (never on a command line, where `ps` would show the password).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from starlette.applications import Starlette

from reports.ui import add_ui
from tracking.auth.base import OPEN, Authorizer
from tracking.auth.store_authorizer import StoreAuthorizer
from tracking.server import build_app
from tracking.store import Store, open_store
from tracking.uri import is_http, resolve_artifact_root, resolve_store_uri
from tracking.webhooks.delivery import start_background_delivery

STORE_ENV = "SWEEPS_SERVER_STORE"
ARTIFACTS_ENV = "SWEEPS_SERVER_ARTIFACTS"
AUTH_ENV = "SWEEPS_SERVER_AUTH"  # "store" (users and tokens of the store) or "open" (sweeps ui)
MAX_BODY_ENV = "SWEEPS_SERVER_MAX_BODY"
SECURE_COOKIES_ENV = "SWEEPS_SERVER_SECURE_COOKIES"  # "1": the UI's session cookie only over HTTPS
FACTORY = "sweeps.server_app:app_factory"


class ServerSetupError(RuntimeError):
    """The server cannot start as configured (the message says what to change)."""


@dataclass(frozen=True)
class ServerConfig:
    store_uri: str  # resolved; may hold a password: never printed
    artifact_root: str
    auth: str = "store"
    max_body_bytes: int | None = None

    @classmethod
    def make(
        cls, store: str | None, artifacts: str | None, auth: str, max_body_bytes: int | None = None
    ) -> ServerConfig:
        uri = resolve_store_uri(store)
        if is_http(uri):
            raise ServerSetupError("a server serves a SQL store (sqlite:// or postgresql://), not another server")
        return cls(uri, resolve_artifact_root(artifacts), auth, max_body_bytes)

    def to_env(self) -> dict[str, str]:
        env = {STORE_ENV: self.store_uri, ARTIFACTS_ENV: self.artifact_root, AUTH_ENV: self.auth}
        if self.max_body_bytes is not None:
            env[MAX_BODY_ENV] = str(self.max_body_bytes)
        return env

    @classmethod
    def from_env(cls) -> ServerConfig:
        try:
            uri = os.environ[STORE_ENV]
        except KeyError:
            raise ServerSetupError(f"${STORE_ENV} is not set; start the server with `sweeps server`") from None
        max_body = os.environ.get(MAX_BODY_ENV)
        return cls(
            uri,
            os.environ.get(ARTIFACTS_ENV) or resolve_artifact_root(None),
            os.environ.get(AUTH_ENV, "store"),
            int(max_body) if max_body else None,
        )


def authorizer_for(config: ServerConfig, store: Store) -> Authorizer:
    """OPEN for ``sweeps ui``; otherwise the users, tokens and grants kept in the store."""
    if config.auth == "open":
        return OPEN
    auth_store = getattr(store, "auth_store", None)
    if auth_store is None:
        raise ServerSetupError("a server with authentication needs a SQL store (sqlite:// or postgresql://)")
    return StoreAuthorizer(auth_store())


def build(config: ServerConfig) -> tuple[Starlette, Store]:
    """The app over a freshly opened store (the caller closes the store when the server stops)."""
    store = open_store(config.store_uri)
    try:
        authorizer = authorizer_for(config, store)
        options = {} if config.max_body_bytes is None else {"max_body_bytes": config.max_body_bytes}
        app = build_app(store, authorizer, artifact_root=config.artifact_root, **options)
        # The live UI (SPEC §9) on the same app: its pages and data honour the same authorizer.
        add_ui(app, secure_cookies=os.environ.get(SECURE_COOKIES_ENV) == "1")
    except BaseException:
        store.close()
        raise
    # Webhook events left in the store's outbox (by any process) are delivered from here (issue 15).
    app.state.webhook_stop = start_background_delivery(store.registry_store())
    return app, store


def app_factory() -> Starlette:
    """uvicorn's factory in each worker process (``--workers > 1``): the config from the environment."""
    app, _store = build(ServerConfig.from_env())  # lives as long as the worker process
    return app
