"""The Sweeps server: the tracking API over HTTP (runs, metrics, registry, artifacts) with auth.

`build_app` makes the ASGI application; `sweeps server` and `sweeps ui` run it under uvicorn.
"""

from __future__ import annotations

from tracking.server.app import build_app

__all__ = ["build_app"]
