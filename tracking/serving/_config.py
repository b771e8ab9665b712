"""A scoring server's settings, and the app factory each uvicorn worker process calls (``--workers N``).

The settings travel in environment variables, never on a command line where `ps` would
show a store password; the token stays in ``$SWEEPS_TOKEN``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from starlette.applications import Starlette

from tracking.errors import InvalidParameter
from tracking.serving._app import DEFAULT_MAX_BODY, build_scoring_app
from tracking.serving._follower import DEFAULT_POLL_INTERVAL_S, ModelFollower

MODEL_ENV = "SWEEPS_SERVE_MODEL"
STORE_ENV = "SWEEPS_SERVE_STORE"
POLL_ENV = "SWEEPS_SERVE_POLL_INTERVAL"
MAX_BODY_ENV = "SWEEPS_SERVE_MAX_BODY"
FACTORY = "tracking.serving:app_factory"


@dataclass(frozen=True, slots=True)
class ServeConfig:
    model_uri: str
    store_uri: str  # resolved; may hold a password: never printed
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    max_body_bytes: int = DEFAULT_MAX_BODY

    def to_env(self) -> dict[str, str]:
        return {
            MODEL_ENV: self.model_uri,
            STORE_ENV: self.store_uri,
            POLL_ENV: repr(self.poll_interval_s),
            MAX_BODY_ENV: str(self.max_body_bytes),
        }

    @classmethod
    def from_env(cls) -> ServeConfig:
        missing = [name for name in (MODEL_ENV, STORE_ENV) if not os.environ.get(name)]
        if missing:
            raise InvalidParameter(f"${' and $'.join(missing)} not set; start the server with `sweeps models serve`")
        return cls(
            os.environ[MODEL_ENV],
            os.environ[STORE_ENV],
            float(os.environ.get(POLL_ENV) or DEFAULT_POLL_INTERVAL_S),
            int(os.environ.get(MAX_BODY_ENV) or DEFAULT_MAX_BODY),
        )


def open_follower(config: ServeConfig) -> ModelFollower:
    """A started follower: the model loaded and warmed, the poller running for an alias or stage."""
    from tracking.client import connect  # SQLAlchemy only in processes that serve

    client = connect(config.store_uri)
    try:
        return ModelFollower(config.model_uri, client, poll_interval_s=config.poll_interval_s).start()
    except BaseException:
        client.close()
        raise


def show_swaps() -> None:
    """Swaps and failed swaps on stderr: uvicorn configures only its own loggers."""
    logger = logging.getLogger("tracking.serving")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def app_factory() -> Starlette:
    """uvicorn's factory in each worker process: its own client, follower and poller."""
    show_swaps()
    config = ServeConfig.from_env()
    return build_scoring_app(open_follower(config), max_body_bytes=config.max_body_bytes)
