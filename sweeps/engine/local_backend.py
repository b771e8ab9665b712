"""`backend: local`: the coordinator in this process, trials one after another (for debugging)."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import warnings
from collections.abc import Iterator, Mapping
from types import FrameType

from optuna.distributions import BaseDistribution

from sweeps.engine.coordinator import Coordinator
from sweeps.engine.executor import Objective, run_trial
from sweeps.engine.messages import Outbox, WorkerInfo
from sweeps.engine.parent import SweepSetup
from sweeps.engine.result import ProgressCallback, SweepProgress
from sweeps.engine.trial_end import timed_out

__all__ = ["InProcessChannel", "LocalBackend"]


class InProcessChannel:
    """A trial's channel straight to an in-process coordinator."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._coordinator = coordinator

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        return self._coordinator.suggest(number, name, distribution, outbox)

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        return self._coordinator.report(number, step, value, outbox)

    def send(self, number: int, outbox: Outbox) -> None:
        self._coordinator.send(number, outbox)

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        self._coordinator.put_artifacts(number, files)


class TrialTimeout(Exception):
    """Raised inside the objective when `execution.trial_timeout_s` runs out (local backend)."""


class LocalBackend:
    """Runs the sweep in this process; `trial_timeout_s` uses SIGALRM (main thread, POSIX only)."""

    def __init__(self, objective: Objective) -> None:
        self._objective = objective
        self._coordinator: Coordinator | None = None

    def start(self, setup: SweepSetup) -> tuple[str, str]:
        self._coordinator = Coordinator(setup)
        self._timeout = setup.config.execution.trial_timeout_s
        return self._coordinator.sweep_id, self._coordinator.parent_run_id

    @property
    def coordinator(self) -> Coordinator:
        assert self._coordinator is not None, "start() first"
        return self._coordinator

    def execute(self, progress: ProgressCallback) -> None:
        coordinator = self.coordinator
        worker = WorkerInfo("local-0", socket.gethostname(), None)
        channel = InProcessChannel(coordinator)
        assignment = coordinator.next_trial(worker)
        while assignment is not None:
            with _alarm(self._timeout):
                outcome = run_trial(self._objective, assignment, channel)
            coordinator.finish(outcome)
            assignment = coordinator.next_trial(worker)
            progress(coordinator.progress())

    def progress(self) -> SweepProgress:
        return self.coordinator.progress()

    def interrupt(self) -> None:
        self.coordinator.interrupt()

    def abort(self, error: str) -> None:
        self.coordinator.abort(error)

    def finalize(self) -> SweepProgress:
        return self.coordinator.finalize()

    def close(self) -> None:
        self._coordinator = None


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        warnings.warn("trial_timeout_s needs the main thread on POSIX with backend: local; not enforced", stacklevel=3)
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TrialTimeout(timed_out(seconds))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
