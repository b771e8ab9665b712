"""Group commit: batches that threads hand in at the same time are written in one transaction.

A store with one writer at a time (SQLite) pays per transaction; under a server's concurrent
requests each waited for the lock to write its own small batch. Now whoever gets the lock
writes every batch queued by then, and the others find theirs written when their turn comes.
Alone, a caller writes its own batch at once: no added latency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

B = TypeVar("B", bound=Sequence)

MAX_GROUP_ITEMS = 2_000  # point blocks or loose points in one group: bounds a transaction


class _Ticket(Generic[B]):
    __slots__ = ("batch", "done", "error")

    def __init__(self, batch: B) -> None:
        self.batch = batch
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[B]):
    """``submit(batch)`` returns once ``batch`` is written (or raises what writing it raised)."""

    def __init__(self, write: Callable[[list[B]], None]) -> None:
        self._write = write  # writes several batches in one transaction, in order
        self._turn = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket[B]] = []

    def submit(self, batch: B) -> None:
        ticket = _Ticket(batch)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._turn:
            # Write queued groups, oldest first, until ours is among the written (a group is
            # bounded, so ours may be behind more than one).
            while not ticket.done:
                self._write_group(self._take())
        if ticket.error is not None:
            raise ticket.error

    def _take(self) -> list[_Ticket[B]]:
        with self._queue_lock:
            taken, size = [], 0
            while self._queue and (not taken or size + len(self._queue[0].batch) <= MAX_GROUP_ITEMS):
                ticket = self._queue.pop(0)
                taken.append(ticket)
                size += len(ticket.batch)
            return taken

    def _write_group(self, group: list[_Ticket[B]]) -> None:
        try:
            self._write([t.batch for t in group])
        except BaseException as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # one bad batch must not fail the others: write each alone
                for ticket in group:
                    try:
                        self._write([ticket.batch])
                    except BaseException as own:
                        ticket.error = own
        finally:
            for ticket in group:
                ticket.done = True
