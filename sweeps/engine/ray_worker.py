"""The Ray worker actor: runs the trials the driver hands it, one at a time, on a thread of its own.

The driver cannot be called by a worker, so every channel call a trial makes (a pruning
report, a define-by-run suggestion, a batch of points, shipped artifacts) becomes the return
value of the driver's pending `start` / `resume` call, and the driver's answer arrives as
the argument of the next `resume`. A trial costs one round trip, plus one per channel call.
"""

from __future__ import annotations

import queue
import socket
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from optuna.distributions import BaseDistribution

from sweeps.engine.executor import Objective, run_trial
from sweeps.engine.messages import Outbox, TrialAssignment, TrialOutcome, WorkerInfo

__all__ = ["ChannelCall", "LoadFailure", "Reply", "TrialWorker", "WorkerMessage"]

CallKind = Literal["suggest", "report", "send", "artifacts"]


@dataclass(frozen=True, slots=True)
class ChannelCall:
    """A trial's request to the coordinator, waiting for the driver's `Reply`."""

    kind: CallKind
    number: int
    outbox: Outbox
    args: tuple[object, ...] = ()
    files: Mapping[str, bytes] | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The coordinator's answer to a `ChannelCall`: a value, or the error to raise in the trial."""

    value: object = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """The worker could not load the objective: no trial can run here."""

    detail: str


WorkerMessage = ChannelCall | TrialOutcome


class _QueueChannel:
    """The trial thread's side of the channel: put a call out, wait for its reply."""

    def __init__(self, outgoing: queue.SimpleQueue[WorkerMessage], incoming: queue.SimpleQueue[Reply]) -> None:
        self._out = outgoing
        self._in = incoming

    def _call(self, call: ChannelCall) -> object:
        self._out.put(call)
        reply = self._in.get()
        if reply.error is not None:
            raise reply.error
        return reply.value

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        return self._call(ChannelCall("suggest", number, outbox, (name, distribution)))

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        return bool(self._call(ChannelCall("report", number, outbox, (step, value))))

    def send(self, number: int, outbox: Outbox) -> None:
        self._call(ChannelCall("send", number, outbox))

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        self._call(ChannelCall("artifacts", number, Outbox(), files=dict(files)))


class TrialWorker:
    """A long-lived worker actor (actor reuse): `start` a trial, `resume` it after each channel call."""

    def __init__(self, worker_id: str, objective: bytes) -> None:
        self._worker_id = worker_id
        self._objective_blob = objective
        self._objective: Objective | None = None
        self._outgoing: queue.SimpleQueue[WorkerMessage] = queue.SimpleQueue()
        self._incoming: queue.SimpleQueue[Reply] = queue.SimpleQueue()

    def info(self) -> WorkerInfo | LoadFailure:
        """Where this worker runs, once it has loaded the objective (the first call: waits for the process)."""
        import ray
        from ray import cloudpickle

        try:
            self._objective = cloudpickle.loads(self._objective_blob)
        except Exception as exc:
            return LoadFailure("".join(traceback.format_exception_only(exc)).strip())
        return WorkerInfo(self._worker_id, socket.gethostname(), ray.get_runtime_context().get_node_id())

    def start(self, assignment: TrialAssignment) -> WorkerMessage:
        """Begin `assignment`; returns its first channel call, or its outcome."""
        objective = self._objective
        assert objective is not None, "info() first"
        channel = _QueueChannel(self._outgoing, self._incoming)

        def attempt() -> None:
            try:
                outcome = run_trial(objective, assignment, channel)
            except BaseException as exc:  # run_trial catches Exception; anything else must not hang the driver
                error = "".join(traceback.format_exception(exc))
                outcome = TrialOutcome(assignment.number, assignment.attempt, "failed", error=error)
            self._outgoing.put(outcome)

        threading.Thread(target=attempt, name=f"trial-{assignment.number}", daemon=True).start()
        return self._outgoing.get()

    def resume(self, reply: Reply) -> WorkerMessage:
        """Answer the trial's pending channel call; returns its next call, or its outcome."""
        self._incoming.put(reply)
        return self._outgoing.get()
