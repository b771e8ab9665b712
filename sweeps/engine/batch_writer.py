"""A background thread that hands queued items to a write function in batches.

The coordinator writes the parent's best-trial tags through one (`recording.BestTags`): the
worker whose trial improved the best gets its next trial without waiting for that write, and
improvements that come close together share one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["BatchWriter"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class BatchWriter(Generic[T]):
    """Calls `write(batch)` on its own thread with everything queued since the last call.

    `submit` after `shutdown` raises RuntimeError (as `ThreadPoolExecutor.submit` does);
    `shutdown(wait=True)` returns once every submitted item has been written.
    """

    def __init__(self, write: Callable[[list[T]], None], name: str) -> None:
        self._write = write
        self._items: list[T] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("cannot submit after shutdown")
            self._items.append(item)
            self._cond.notify()

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if wait and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return  # closed and drained
                batch, self._items = self._items, []
            try:
                self._write(batch)
            except Exception:  # the write function reports its own failures; never die silently
                log.warning("a batched write failed", exc_info=True)
