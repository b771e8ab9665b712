"""SIGTERM as a stop request: what ``kill``, systemd, Kubernetes and CI runners send ends a sweep like Ctrl-C."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The driver got SIGTERM: the sweep ends KILLED, its points flushed, resumable (the CLI exits 143)."""


EXIT_TERMINATED = 128 + signal.SIGTERM


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread, as SIGINT raises KeyboardInterrupt.

    Leaves the handler alone when the caller installed one of its own (their process, their
    policy) or when not on the main thread (Python delivers signals only there). Ray's handler
    is replaced: ``ray.init`` installs one that exits at once, leaving the sweep RUNNING.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None) and not _is_rays(previous):
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        # One stop request: a second SIGTERM while the sweep winds down must not cut the flush short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated(f"received signal {signum} (SIGTERM)")

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _is_rays(handler: object) -> bool:
    return str(getattr(handler, "__module__", "")).split(".")[0] == "ray"
