"""Which trials run where and what is left to run: launches, retries, the budget, stopping.

Plain bookkeeping, no I/O and no locking of its own: the coordinator holds its lock (the one
given here, for `wait_closed`) around every call.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from sweeps.config import Budget
from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.result import RunningTrial
from sweeps.engine.tally import Tally

__all__ = ["Schedule"]


class Schedule:
    """The open trials, the workers running them, the retry queue and the sweep's stop flags."""

    def __init__(self, lock: threading.Lock, budget: Budget, tally: Tally) -> None:
        self._budget = budget
        self._tally = tally
        self.live: dict[int, LiveTrial] = {}
        self._in_flight: dict[str, int] = {}  # worker id -> trial number
        self._retry: collections.deque[int] = collections.deque()
        self._launching = 0  # asked of Optuna, run not created yet
        self._closing = 0  # trials marked closed whose close has not finished yet
        self._closed_all = threading.Condition(lock)  # notified when _closing drops to 0
        self.stopping = False
        self.exhausted = False  # the grid sampler has visited every point
        self.fatal: str | None = None
        self.interrupted = False
        self.t0 = time.monotonic()
        # `repeats:`: whether a configuration has repeats left to launch (set by the coordinator).
        self.pending_repeats: Callable[[], bool] = lambda: False

    # -- what may run ----------------------------------------------------------------------

    def _in_time(self) -> bool:
        timeout = self._budget.timeout_s
        return timeout is None or time.monotonic() - self.t0 < timeout

    def can_launch(self) -> bool:
        if self.stopping or self.exhausted or self._tally.counted >= self._budget.trials:
            return False
        if self._tally.reached(self._budget.target):
            return False  # running trials finish; nothing new starts
        return self._in_time()

    def may_retry(self) -> bool:
        return not self.stopping and self._in_time()

    def has_work(self) -> bool:
        return not self.stopping and (bool(self._retry) or self.pending_repeats() or self.can_launch())

    def stop(self, fatal: str | None = None, *, interrupted: bool = False) -> None:
        self.stopping = True
        self.fatal = self.fatal or fatal
        self.interrupted = self.interrupted or interrupted

    # -- launches and retries --------------------------------------------------------------

    def begin_launch(self) -> None:
        self._tally.started += 1
        self._launching += 1  # not yet in `live`: keeps `done` from calling the sweep done

    def launch_failed(self) -> None:
        self._launching -= 1
        self._tally.started -= 1  # no child run: the trial never started

    def launched(self, live: LiveTrial, worker_id: str) -> bool:
        """The run exists; False when the sweep stopped meanwhile (the trial is then marked closed)."""
        self._launching -= 1
        self.live[live.number] = live
        if self.stopping:
            self.mark_closed(live)
            return False
        self._assign(live, worker_id)
        return True

    def next_retry(self, worker_id: str) -> LiveTrial | None:
        """The next trial waiting for another attempt, now assigned to `worker_id`."""
        if not self._retry:
            return None
        live = self.live[self._retry.popleft()]
        live.attempt += 1
        live.started = time.monotonic()
        self._assign(live, worker_id)
        return live

    def requeue(self, live: LiveTrial) -> None:
        self._retry.append(live.number)
        live.worker_id = None

    def _assign(self, live: LiveTrial, worker_id: str) -> None:
        live.worker_id = worker_id
        self._in_flight[worker_id] = live.number

    # -- finding and closing trials --------------------------------------------------------

    def open(self, number: int) -> LiveTrial | None:
        live = self.live.get(number)
        return None if live is None or live.closed else live

    def lost(self, worker_id: str) -> LiveTrial | None:
        """The open trial a lost worker was running, if any; the worker no longer runs it."""
        number = self._in_flight.pop(worker_id, None)
        return None if number is None else self.open(number)

    def mark_closed(self, live: LiveTrial) -> None:
        # Counted until `closed`, so neither `done` nor `wait_closed` sees the sweep done
        # while a trial's results are still on their way to the store and to Optuna.
        live.closed = True
        self._closing += 1
        if live.worker_id is not None and self._in_flight.get(live.worker_id) == live.number:
            del self._in_flight[live.worker_id]

    def close_open(self) -> list[LiveTrial]:
        """Mark every open trial closed (the sweep is ending); returns them."""
        open_trials = [lv for lv in self.live.values() if not lv.closed]
        for live in open_trials:
            self.mark_closed(live)
        self._retry.clear()
        return open_trials

    def forget(self, live: LiveTrial) -> None:
        self.live.pop(live.number, None)

    def closed(self) -> None:
        """A trial marked closed has been recorded (or its recording failed)."""
        self._closing -= 1
        if not self._closing:
            self._closed_all.notify_all()

    def wait_closed(self) -> None:
        """Wait (the lock held) until no trial is still being closed by another thread."""
        while self._closing:
            self._closed_all.wait()

    # -- progress --------------------------------------------------------------------------

    def running(self, now: float) -> tuple[RunningTrial, ...]:
        return tuple(
            RunningTrial(lv.number, lv.worker_id, lv.attempt, now - lv.started)
            for lv in self.live.values()
            if not lv.closed and lv.worker_id is not None
        )

    def done(self, running: tuple[RunningTrial, ...]) -> bool:
        return not running and not self._launching and not self._closing and not self.has_work()
