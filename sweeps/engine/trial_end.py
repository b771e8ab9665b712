"""How a trial ends: every outcome, each kind of failure included, is recorded by `TrialCloser.close`.

The failure texts live here too, so "how is a failed trial recorded, and with what error" has
a one-file answer: an exception in the objective (its traceback, from the executor), a worker
that died after its retries, a timeout, a store error, values Optuna refused; a trial the sweep
stopped or interrupted ends KILLED; a FAILED end may reach `budget.max_failures` and stop the sweep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from optuna.trial import TrialState

from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.messages import TrialOutcome
from sweeps.engine.optuna_bridge import OptunaBridge
from sweeps.engine.output_capture import OUTPUT_ARTIFACT, tail
from sweeps.engine.queue_tags import OUTPUT_TAIL
from sweeps.engine.recording import BestTags, TrialRecorder, block_of
from sweeps.engine.schedule import Schedule
from sweeps.engine.tally import Tally
from tracking.entities import RunStatus
from tracking.point_block import PointBlock

__all__ = [
    "ENDED_BEFORE_FINISH",
    "INTERRUPTED",
    "STOPPED_BEFORE_START",
    "TrialCloser",
    "logged_unstorable",
    "max_failures_reached",
    "optuna_refused",
    "results_unstorable",
    "timed_out",
    "worker_died",
]

log = logging.getLogger(__name__)

MAX_TAIL_CHARS = 4000  # the tag with a failed trial's last lines of output

# -- why a trial ended KILLED ----------------------------------------------------------------
STOPPED_BEFORE_START = "the sweep was stopped before the trial started"
ENDED_BEFORE_FINISH = "the sweep ended before the trial finished"
INTERRUPTED = "interrupted (Ctrl-C)"


# -- why a trial ended FAILED (besides its own exception) --------------------------------------


def timed_out(limit_s: float | None) -> str:
    return f"timed out after {limit_s:g}s (execution.trial_timeout_s)"


def worker_died(reason: str, attempts: int, retries: int) -> str:
    return (
        f"the worker running this trial died ({reason}); "
        f"gave up after {attempts} attempt(s) (execution.retries = {retries})"
    )


def logged_unstorable(exc: BaseException) -> str:
    return f"could not store what the trial logged: {exc}"


def results_unstorable(exc: BaseException, error: str | None) -> str:
    return f"could not store the trial's results: {exc}\n{error or ''}".strip()


def optuna_refused(values: tuple[float, ...] | None) -> str:
    return f"Optuna refused the objective values {values}"


def max_failures_reached(limit: int) -> str:
    return f"max_failures ({limit}) reached; the sweep stopped"


_STATUS = {"complete": RunStatus.FINISHED, "pruned": RunStatus.PRUNED, "failed": RunStatus.FAILED}


class TrialCloser:
    """Ends trials the schedule marked closed: the store first, then Optuna, then the tally.

    Called without the coordinator's lock; it takes the lock only around Optuna and the
    tally, so one trial's transaction never stalls another trial's pruning decision.
    """

    def __init__(
        self,
        lock: threading.Lock,
        schedule: Schedule,
        tally: Tally,
        bridge: OptunaBridge,
        recorder: TrialRecorder,
        best_tags: BestTags,
        max_failures: int | None,
        still_owner: Callable[[], bool] = lambda: True,
    ) -> None:
        # False once another driver took the sweep over (a lost lease): its trials' records are
        # that driver's now, and this one must not overwrite them.
        self._still_owner = still_owner
        self._lock = lock
        self._schedule = schedule
        self._tally = tally
        self._bridge = bridge
        self._recorder = recorder
        self._best_tags = best_tags
        self._max_failures = max_failures

    def finish(self, live: LiveTrial, outcome: TrialOutcome) -> None:
        """Close a trial with its attempt's own outcome and what it logged since its last call."""
        block = block_of(live, outcome.outbox)
        blocks = [] if block is None else [block]
        try:
            outbox = outcome.outbox
            if outbox.reports:
                with self._lock:
                    self._bridge.report(live, outbox.reports)
            self._recorder.params_and_tags(live, outbox)
            if outcome.output:
                self._keep_output(live, outcome)
        except Exception as exc:  # e.g. a tag the store refuses: the trial fails, the sweep goes on
            self.close(live, RunStatus.FAILED, error=logged_unstorable(exc), blocks=blocks)
            return
        status = _STATUS[outcome.state]
        values = outcome.values if status is RunStatus.FINISHED else None
        error = outcome.error if status is RunStatus.FAILED else None
        self.close(live, status, values=values, error=error, blocks=blocks)

    def _keep_output(self, live: LiveTrial, outcome: TrialOutcome) -> None:
        """The trial's `output.log` artifact; for a failed trial its last lines as a tag, shown by its error."""
        try:
            self._recorder.put_artifacts(live, {OUTPUT_ARTIFACT: outcome.output})
        except Exception as exc:  # the output is a convenience: its loss must not fail the trial
            log.warning("trial %s: could not store its output.log: %s", live.number, exc)
        if outcome.state == "failed":
            live.output_tail = tail(outcome.output)[-MAX_TAIL_CHARS:]
            self._recorder.client.set_tags(live.run_id, {OUTPUT_TAIL: live.output_tail})

    def close(
        self,
        live: LiveTrial,
        status: RunStatus,
        *,
        values: tuple[float, ...] | None = None,
        error: str | None = None,
        blocks: Sequence[PointBlock] = (),
    ) -> None:
        """Record how a trial marked closed ended: every way it can end comes through here."""
        try:
            self._close_marked(live, status, values, error, blocks)
        finally:
            with self._lock:
                self._schedule.closed()

    def _close_marked(
        self,
        live: LiveTrial,
        status: RunStatus,
        values: tuple[float, ...] | None,
        error: str | None,
        blocks: Sequence[PointBlock],
    ) -> None:
        # Every point of the trial (its objective values are in its block) is stored before
        # Optuna hears the result. The run's status goes in the same transaction: the worker
        # waiting on this call pays for one commit.
        stored = False
        owner = self._still_owner()
        try:
            if not owner:
                log.warning("trial %s: not recorded: another driver owns this sweep now", live.number)
                stored = True  # nothing of ours to store: the owner closes the run
            else:
                self._recorder.end(live, status, error, blocks)
                stored = True
        except Exception as exc:
            log.warning("trial %s: could not store its final records: %s", live.number, exc)
            if status is not RunStatus.KILLED:
                status, error = RunStatus.FAILED, results_unstorable(exc, error)
        with self._lock:
            state, exhausted = self._bridge.tell(live, status, values)
            self._schedule.exhausted = self._schedule.exhausted or exhausted
            if status is RunStatus.FINISHED and state is not TrialState.COMPLETE:
                status, error = RunStatus.FAILED, optuna_refused(values)
                stored = False
            self._tally.ended(live.number, status, error, live.output_tail)
            limit = self._max_failures
            if status is RunStatus.FAILED and limit is not None and self._tally.session_failed >= limit:
                self._schedule.stop(fatal=max_failures_reached(limit))
            improved = False
            candidate = self._bridge.best_candidate(live, status, values)
            if candidate is not None and owner:  # the parent's best tags too
                improved = self._tally.improve(*candidate)
            self._schedule.forget(live)
            # Queued under the lock that updated the tally, so finalize() finds the write
            # queued before it shuts the writer down.
            queued = not improved or self._best_tags.queue()
        if not stored:  # the status could not go with the points, or Optuna changed it
            self._recorder.end_status(live.run_id, status, error)
        if not queued:  # the sweep was already finalized (a launch that raced the end)
            self._best_tags.write_now()
