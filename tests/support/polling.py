"""Waiting for a condition in tests: poll it with a deadline, never sleep a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0, every_s: float = 0.01) -> None:
    """Poll ``condition`` every ``every_s`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s")
        time.sleep(every_s)
