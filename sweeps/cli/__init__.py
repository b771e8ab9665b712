"""The ``sweeps`` command line; each command group lives in its own module."""

from __future__ import annotations

from sweeps.cli.main import main

__all__ = ["main"]
