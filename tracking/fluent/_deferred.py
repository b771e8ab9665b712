"""Writes a run's end waits for: one background thread runs them, so the call that queued them returns first.

Autologging queues a fit's training metrics here (asking the store for their steps is a write
of its own). A fluent run's end, `activated`'s exit and `tracking.fluent.close` (at exit too)
wait for the writes of their runs, and warn about the ones that failed: nothing is dropped
unsaid.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import warnings
from collections.abc import Callable

__all__ = ["defer", "wait"]

Work = Callable[[], None]
Describe = Callable[[Exception], str | None]  # a failure -> the warning to give (None: none)


class _Writer:
    def __init__(self) -> None:
        self._reset()
        self._hooked = False  # the exit hook (a forked child inherits it)
        if hasattr(os, "register_at_fork"):
            # A forked child has no writer thread: it starts its own, with none of the parent's writes.
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._done = threading.Condition()
        self._pending: dict[str, int] = {}  # run id -> writes queued or running
        self._failures: dict[str, list[str]] = {}
        self._jobs: queue.SimpleQueue[tuple[str, Work, Describe]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, run_id: str, work: Work, describe: Describe) -> None:
        with self._done:
            self._pending[run_id] = self._pending.get(run_id, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tracking-deferred", daemon=True)
                self._thread.start()
            if not self._hooked:
                atexit.register(wait)  # registered after the client's own exit hook, so it runs first
                self._hooked = True
        self._jobs.put((run_id, work, describe))

    def _run(self) -> None:
        while True:
            run_id, work, describe = self._jobs.get()
            failure = None
            try:
                work()
            except Exception as exc:  # said by whoever waits for the run, in its own thread
                failure = describe(exc)
            except BaseException as exc:  # counted as done all the same, or every wait would hang
                failure = f"a deferred write into run {run_id} stopped: {type(exc).__name__}"
            with self._done:
                if failure is not None:
                    self._failures.setdefault(run_id, []).append(failure)
                left = self._pending[run_id] - 1
                if left:
                    self._pending[run_id] = left
                else:
                    del self._pending[run_id]
                self._done.notify_all()

    def wait(self, run_id: str | None = None) -> list[str]:
        """Block until the writes of ``run_id`` (None: of every run) are done; the failures' warnings."""
        with self._done:
            self._done.wait_for(lambda: not self._pending if run_id is None else run_id not in self._pending)
            if run_id is None:
                failed = [f for fs in self._failures.values() for f in fs]
                self._failures.clear()
                return failed
            return self._failures.pop(run_id, [])


_WRITER = _Writer()


def defer(run_id: str, work: Work, describe: Describe) -> None:
    """Run ``work`` (a write into ``run_id``) in the background; ``describe`` words a failure."""
    _WRITER.submit(run_id, work, describe)


def wait(run_id: str | None = None) -> None:
    """Wait for the deferred writes of ``run_id`` (None: all), warning once for each that failed."""
    for message in _WRITER.wait(run_id):
        warnings.warn(message, stacklevel=3)
