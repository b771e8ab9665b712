"""The driver-side owner of a sweep: the Optuna study, the tracking client, the parent run.

Workers (in-process or Ray actors) ask it for trials, send it what they log, and tell it
how each trial ended. It is thread-safe: on Ray it runs as a threaded actor serving every
worker at once. Study operations happen under one lock; store writes happen outside it so
one trial's transaction never stalls another trial's pruning decision.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

import tracking
from sweeps.config import suggest_params
from sweeps.engine.batch_writer import BatchWriter
from sweeps.engine.messages import Outbox, TrialAssignment, TrialOutcome, WorkerInfo
from sweeps.engine.parent import TAG, SweepSetup, create_parent
from sweeps.engine.result import RunningTrial, SweepProgress
from sweeps.engine.shipping import is_local_uri
from sweeps.engine.study import distributions_json, new_study, pruning_gate, suggest, tell
from sweeps.engine.study_restore import INTERMEDIATE_PREFIX, OBJECTIVE_PREFIX, restore_study
from sweeps.engine.tally import Tally
from sweeps.errors import SweepsError
from tracking.artifacts import ArtifactStore
from tracking.entities import MetricPoint, RunStatus
from tracking.point_block import PointBlock

__all__ = ["Coordinator"]

log = logging.getLogger(__name__)


@dataclass
class _Live:
    """Driver-side state of a trial that has not ended yet."""

    number: int
    handle: optuna.Trial
    run_id: str
    artifact_uri: str
    params: dict[str, object]
    distributions: dict[str, BaseDistribution]
    attempt: int = 0
    worker_id: str | None = None
    started: float = field(default_factory=time.monotonic)
    last_report: tuple[int, float] | None = None
    reported_steps: set[int] = field(default_factory=set)
    held_reports: dict[int, float] = field(default_factory=dict)  # no pruner: given to Optuna if pruned
    new_params: dict[str, object] = field(default_factory=dict)  # define-by-run, not yet stored
    closed: bool = False


class Coordinator:
    """Hands out trials, records what they log, tells Optuna how they ended (thread-safe)."""

    def __init__(self, setup: SweepSetup) -> None:
        cfg = setup.config
        self._setup = setup
        self._cfg = cfg
        self._client = tracking.connect(setup.store_uri, setup.artifact_root)
        self._lock = threading.Lock()
        self._study = new_study(cfg, setup.sweep_id)
        self._multi = cfg.is_multi_objective
        self._objective_keys = [f"{OBJECTIVE_PREFIX}{m.name}" for m in cfg.metrics]
        self._intermediate_key = f"{INTERMEDIATE_PREFIX}{cfg.metric.name}"
        self._gate = pruning_gate(self._study.pruner, self._multi)
        self._live: dict[int, _Live] = {}
        self._in_flight: dict[str, int] = {}  # worker id -> trial number
        self._retry: collections.deque[int] = collections.deque()
        self._launching = 0
        self._closing = 0  # trials marked closed whose _close has not finished yet
        self._closed_all = threading.Condition(self._lock)  # notified when _closing drops to 0
        self._tally = Tally(maximize=cfg.metric.goal == "maximize")
        self._stopping = False
        self._exhausted = False  # the grid sampler has visited every point
        self._fatal: str | None = None
        self._interrupted = False
        self._final = RunStatus.RUNNING  # the parent's status once finalize() has run
        self._t0 = time.monotonic()
        # Updates the parent's best tags; improvements that come close together share a write.
        self._writer: BatchWriter[bool] = BatchWriter(self._store_best, "sweeps-best-writer")
        if setup.parent_run_id is None:
            self._parent = create_parent(self._client, setup)
        else:
            self._parent = self._client.get_run(setup.parent_run_id)
            restored = restore_study(self._client, self._study, cfg, self._parent)
            self._tally.started = restored.started
            for status, n in restored.counts.items():
                self._tally.count(status, n)
            self._tally.best = restored.best
            self._client.set_run_status(self._parent.run_id, RunStatus.RUNNING)
        self._experiment = cfg.experiment

    # -- identity --------------------------------------------------------------------------

    @property
    def sweep_id(self) -> str:
        return self._setup.sweep_id

    @property
    def parent_run_id(self) -> str:
        return self._parent.run_id

    def ready(self) -> tuple[str, str]:
        """(sweep id, parent run id); on Ray, a cheap call that proves the actor started."""
        return self.sweep_id, self.parent_run_id

    # -- handing out trials ----------------------------------------------------------------

    def next_trial(self, worker: WorkerInfo) -> TrialAssignment | None:
        """The next attempt for `worker` (a retry first), or None when nothing is left to run."""
        with self._lock:
            if self._stopping:
                return None
            if self._retry:
                live = self._live[self._retry.popleft()]
                live.attempt += 1
                live.worker_id = worker.worker_id
                live.started = time.monotonic()
                self._in_flight[worker.worker_id] = live.number
            elif self._can_launch_locked():
                handle = self._study.ask()
                try:
                    params = suggest_params(handle, self._cfg.parameters)
                except Exception:
                    self._study.tell(handle, state=TrialState.FAIL)
                    raise
                self._tally.started += 1
                self._launching += 1  # not yet in _live: keeps progress() from calling the sweep done
                live = None
            else:
                return None
        if live is not None:
            self._client.set_tags(live.run_id, {f"{TAG}attempt": str(live.attempt), f"{TAG}node": worker.node})
            return self._assignment(live, worker)
        return self._launch(handle, params, worker)

    def finish_and_next(self, worker: WorkerInfo, outcome: TrialOutcome) -> TrialAssignment | None:
        """`finish` then `next_trial` in one call: one round trip per trial on Ray."""
        self.finish(outcome)
        return self.next_trial(worker)

    def _launch(self, handle: optuna.Trial, params: dict[str, object], worker: WorkerInfo) -> TrialAssignment | None:
        number = handle.number
        distributions = dict(handle.distributions)
        tags = {
            f"{TAG}kind": "trial",
            f"{TAG}sweep_id": self.sweep_id,
            f"{TAG}trial_number": str(number),
            f"{TAG}node": worker.node,
            f"{TAG}attempt": "0",
            f"{TAG}distributions": distributions_json(distributions),
        }
        try:
            run = self._client.start_run(
                experiment=self._experiment, name=f"trial-{number}", tags=tags, params=params, parent=self.parent_run_id
            )
        except Exception:
            with self._lock:
                self._launching -= 1
                self._tally.started -= 1  # no child run: the trial never started
                self._study.tell(handle, state=TrialState.FAIL)
            raise
        live = _Live(number, handle, run.run_id, run.artifact_uri, dict(params), distributions)
        with self._lock:
            self._launching -= 1
            self._live[number] = live
            stopping = self._stopping
            if not stopping:
                live.worker_id = worker.worker_id
                self._in_flight[worker.worker_id] = number
        if stopping:  # interrupted while the run was being created
            with self._lock:
                self._mark_closed_locked(live)
            self._close(live, RunStatus.KILLED, error="the sweep was stopped before the trial started")
            return None
        return self._assignment(live, worker)

    def _assignment(self, live: _Live, worker: WorkerInfo) -> TrialAssignment:
        # Artifacts of a local root are written where the coordinator runs: a worker on
        # another node ships the bytes here; one on this node (or in-process) writes directly.
        ship = is_local_uri(live.artifact_uri) and worker.node_id != self._setup.node_id
        return TrialAssignment(
            number=live.number,
            run_id=live.run_id,
            params=dict(live.params),
            attempt=live.attempt,
            artifact_uri=live.artifact_uri,
            ship_artifacts=ship,
            pruning=self._gate,
            metric_names=tuple(m.name for m in self._cfg.metrics),
        )

    def _can_launch_locked(self) -> bool:
        budget = self._cfg.budget
        if self._stopping or self._exhausted or self._tally.started >= budget.trials:
            return False
        return budget.timeout_s is None or time.monotonic() - self._t0 < budget.timeout_s

    def _may_retry_locked(self) -> bool:
        timeout = self._cfg.budget.timeout_s
        return not self._stopping and (timeout is None or time.monotonic() - self._t0 < timeout)

    def _has_work_locked(self) -> bool:
        return not self._stopping and (bool(self._retry) or self._can_launch_locked())

    # -- calls made while a trial runs -----------------------------------------------------

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        """Define-by-run: sample `name` from `distribution` for trial `number`."""
        live = self._open(number)
        if live is None:
            raise SweepsError(f"trial {number} has already ended (the sweep was stopped)")
        self._apply(live, outbox)
        with self._lock:
            value = suggest(live.handle, name, distribution)
            if name not in live.params:
                live.params[name] = value
                live.distributions[name] = distribution
                live.new_params[name] = value
        return value

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        """Record an intermediate value; True when the pruner says the trial should stop."""
        live = self._open(number)
        if live is None:
            return True  # the trial was closed (sweep stopped): let the objective end
        self._apply(live, outbox, extra_report=(step, value))
        if self._multi:
            return False
        with self._lock:
            return False if live.closed else bool(live.handle.should_prune())

    def send(self, number: int, outbox: Outbox) -> None:
        """Buffered points (and params/tags) of a running trial."""
        live = self._open(number)
        if live is not None:
            self._apply(live, outbox)

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        """Write artifacts shipped by a worker on another node into the trial's run."""
        live = self._open(number)
        if live is None:
            raise SweepsError(f"trial {number} has already ended; its artifacts were not stored")
        store = ArtifactStore(live.artifact_uri)
        for name, data in files.items():
            store.put_bytes(data, name)

    def _open(self, number: int) -> _Live | None:
        with self._lock:
            live = self._live.get(number)
            return None if live is None or live.closed else live

    def _apply(self, live: _Live, outbox: Outbox, extra_report: tuple[int, float] | None = None) -> None:
        block = self._block(live, outbox)
        if block is not None:
            self._client.log_block(block)  # checked per key and column: no per-point work here
        points = self._points(live, outbox, extra_report)
        if points:
            self._client.log_batch(live.run_id, points)
        self._params_and_tags(live, outbox)

    @staticmethod
    def _block(live: _Live, outbox: Outbox) -> PointBlock | None:
        """The outbox's metric points, as logged to the trial's own run."""
        block = outbox.block
        if block is None or not len(block):
            return None
        return block if block.run_id == live.run_id else dataclasses.replace(block, run_id=live.run_id)

    def _params_and_tags(self, live: _Live, outbox: Outbox) -> None:
        if outbox.params:
            self._client.log_params(live.run_id, outbox.params)
        if outbox.tags:
            self._client.set_tags(live.run_id, outbox.tags)

    def _points(self, live: _Live, outbox: Outbox, extra_report: tuple[int, float] | None = None) -> list[MetricPoint]:
        """The outbox's reports as points (its metric points travel as a block); the reports go to Optuna too."""
        reports = list(outbox.reports) + ([extra_report] if extra_report else [])
        points: list[MetricPoint] = []
        if reports:
            with self._lock:
                for step, value in reports:
                    # A retried attempt reports its steps again; Optuna keeps the first value.
                    if not self._multi and step not in live.reported_steps:
                        if self._gate.enabled:
                            live.handle.report(value, step)
                        else:  # no pruner reads them: only a PRUNED tell needs them (_close_marked)
                            live.held_reports[step] = value
                    live.reported_steps.add(step)
                    live.last_report = (step, value)
            now = int(time.time() * 1000)
            points += [MetricPoint(live.run_id, self._intermediate_key, s, v, now) for s, v in reports]
        return points

    # -- ending trials ---------------------------------------------------------------------

    def finish(self, outcome: TrialOutcome) -> None:
        """Record how an attempt ended: its points and status first, then Optuna."""
        with self._lock:
            live = self._live.get(outcome.number)
            if live is None or live.closed or live.attempt != outcome.attempt:
                return  # a stale attempt (its trial was already closed or retried)
            self._mark_closed_locked(live)
            if live.worker_id is not None and self._in_flight.get(live.worker_id) == live.number:
                del self._in_flight[live.worker_id]
        points: list[MetricPoint] = []
        block = self._block(live, outcome.outbox)
        blocks = [] if block is None else [block]
        try:
            points = self._points(live, outcome.outbox)
            self._params_and_tags(live, outcome.outbox)
        except Exception as exc:  # e.g. a tag the store refuses: the trial fails, the sweep goes on
            error = f"could not store what the trial logged: {exc}"
            self._close(live, RunStatus.FAILED, error=error, points=points, blocks=blocks)
            return
        if outcome.state == "complete":
            self._close(live, RunStatus.FINISHED, values=outcome.values, points=points, blocks=blocks)
        elif outcome.state == "pruned":
            self._close(live, RunStatus.PRUNED, points=points, blocks=blocks)
        else:
            self._close(live, RunStatus.FAILED, error=outcome.error, points=points, blocks=blocks)

    def worker_lost(self, worker_id: str, reason: str, timed_out: int | None = None) -> bool:
        """A worker died (or was killed for `timed_out`): retry or fail its trial; True if work is left."""
        error = None
        with self._lock:
            number = self._in_flight.pop(worker_id, None)
            live = self._live.get(number) if number is not None else None
            if live is not None and not live.closed:
                retries = self._cfg.execution.retries
                if number == timed_out:
                    error = f"timed out after {self._cfg.execution.trial_timeout_s:g}s (execution.trial_timeout_s)"
                elif live.attempt < retries and self._may_retry_locked():
                    self._retry.append(live.number)
                    live.worker_id = None
                    return True
                else:
                    error = (
                        f"the worker running this trial died ({reason}); "
                        f"gave up after {live.attempt + 1} attempt(s) (execution.retries = {retries})"
                    )
                self._mark_closed_locked(live)
        if error is not None and live is not None:
            self._close(live, RunStatus.FAILED, error=error)
        with self._lock:
            return self._has_work_locked()

    def _mark_closed_locked(self, live: _Live) -> None:
        # Counted until _close ends, so neither progress() nor finalize() sees the sweep
        # done while a trial's results are still on their way to the store and to Optuna.
        live.closed = True
        self._closing += 1

    def _close(
        self,
        live: _Live,
        status: RunStatus,
        values: tuple[float, ...] | None = None,
        error: str | None = None,
        points: list[MetricPoint] | None = None,
        blocks: list[PointBlock] | None = None,
    ) -> None:
        """End a trial marked closed: its points and status in one transaction, then Optuna."""
        try:
            self._close_marked(live, status, values, error, points or [], blocks or [])
        finally:
            with self._lock:
                self._closing -= 1
                if not self._closing:
                    self._closed_all.notify_all()

    def _close_marked(
        self,
        live: _Live,
        status: RunStatus,
        values: tuple[float, ...] | None,
        error: str | None,
        points: list[MetricPoint],
        blocks: list[PointBlock],
    ) -> None:
        now = int(time.time() * 1000)
        if status is RunStatus.FINISHED and values is not None:
            keys = self._objective_keys
            points += [MetricPoint(live.run_id, k, 0, v, now) for k, v in zip(keys, values, strict=True)]
        elif status is RunStatus.PRUNED and live.last_report is not None and not self._multi:
            # data model: a pruned trial's last reported value stands as its objective value
            points.append(MetricPoint(live.run_id, self._objective_keys[0], 0, live.last_report[1], now))
        # Every point of the trial is stored before Optuna hears the result. The run's status
        # goes in the same transaction: the worker waiting on this call pays for one commit.
        stored = False
        try:
            if live.new_params:
                self._client.log_params(live.run_id, live.new_params)
                tag = distributions_json(live.distributions)
                self._client.set_tags(live.run_id, {f"{TAG}distributions": tag})
            self._client.end_runs([(live.run_id, status, error)], points, blocks)
            stored = True
        except Exception as exc:
            log.warning("trial %s: could not store its final records: %s", live.number, exc)
            if status is not RunStatus.KILLED:
                status, error = RunStatus.FAILED, f"could not store the trial's results: {exc}\n{error or ''}".strip()
        with self._lock:
            if status is RunStatus.PRUNED:  # Optuna takes a pruned trial's value from its reports
                for step, value in sorted(live.held_reports.items()):
                    live.handle.report(value, step)
                live.held_reports.clear()
            state, exhausted = tell(self._study, live.handle, status, values)
            self._exhausted = self._exhausted or exhausted
            if status is RunStatus.FINISHED and state is not TrialState.COMPLETE:
                status, error = RunStatus.FAILED, f"Optuna refused the objective values {values}"
                stored = False
            self._tally.ended(live.number, status, error)
            limit = self._cfg.budget.max_failures
            if status is RunStatus.FAILED and limit is not None and self._tally.session_failed >= limit:
                self._stopping = True
                self._fatal = self._fatal or f"max_failures ({limit}) reached; the sweep stopped"
            improved = False
            if status is RunStatus.FINISHED and values is not None:
                improved = self._tally.improve(values[0], live.number, live.run_id)
            self._live.pop(live.number, None)
            # The parent's best tags are written off the caller's path. Queued under the lock
            # that updated the tally, so finalize() finds the write queued before shutdown.
            queued = not improved or self._queue_best_locked()
        if not stored:  # the status could not go with the points, or Optuna changed it
            self._end_run(live.run_id, status, error)
        if not queued:  # the sweep was already finalized (a launch that raced the end)
            self._store_best()

    def _queue_best_locked(self) -> bool:
        try:
            self._writer.submit(True)
        except RuntimeError:  # the writer was shut down by finalize()
            return False
        return True

    def _end_run(self, run_id: str, status: RunStatus, error: str | None) -> None:
        try:
            self._client.end_run(run_id, status, error)
        except Exception:
            log.warning("could not record the end of run %s", run_id, exc_info=True)

    def _store_best(self, _batch: object = None) -> None:
        """Tag the parent with the best trial so far (the writer thread calls it per batch)."""
        with self._lock:
            best = self._tally.best
        if best is None:
            return
        try:
            self._client.set_tags(self.parent_run_id, {f"{TAG}best_run_id": best[2], f"{TAG}best_value": repr(best[0])})
        except Exception:
            log.warning("could not record the sweep's best trial", exc_info=True)

    # -- stopping --------------------------------------------------------------------------

    def stop(self) -> None:
        """Launch nothing more; running trials finish normally."""
        with self._lock:
            self._stopping = True

    def abort(self, error: str) -> None:
        """Stop the sweep because it cannot go on (e.g. workers cannot load the objective)."""
        with self._lock:
            self._stopping = True
            self._fatal = self._fatal or error

    def interrupt(self, reason: str = "interrupted (Ctrl-C)") -> None:
        """Stop launching and end every trial still open as KILLED."""
        with self._lock:
            self._stopping = True
            self._interrupted = True
            open_trials = [lv for lv in self._live.values() if not lv.closed]
            for live in open_trials:
                self._mark_closed_locked(live)
            self._in_flight.clear()
            self._retry.clear()
        for live in open_trials:
            self._close(live, RunStatus.KILLED, error=reason)

    def finalize(self) -> SweepProgress:
        """End the parent run (FINISHED / FAILED / KILLED), flush and close; returns the final state."""
        with self._lock:
            self._stopping = True
            leftover = [lv for lv in self._live.values() if not lv.closed]
            for live in leftover:
                self._mark_closed_locked(live)
        for live in leftover:
            self._close(live, RunStatus.KILLED, error="the sweep ended before the trial finished")
        with self._lock:
            while self._closing:  # trials other threads are closing are counted before the parent ends
                self._closed_all.wait()
            status, error = self._tally.final_status(interrupted=self._interrupted, fatal=self._fatal)
            self._final = status
        with self._lock:  # no trial can queue its end between here and the shutdown
            self._writer.shutdown(wait=False)
        try:
            self._writer.shutdown(wait=True)  # every trial's status is stored before the parent's
            self._client.flush()
            self._client.end_run(self.parent_run_id, status, error)
        finally:
            self._client.close()
        return self.progress()

    # -- progress --------------------------------------------------------------------------

    def progress(self) -> SweepProgress:
        """A snapshot for progress displays (and the driver's timeout checks)."""
        now = time.monotonic()
        with self._lock:
            t = self._tally
            running = tuple(
                RunningTrial(lv.number, lv.worker_id, lv.attempt, now - lv.started)
                for lv in self._live.values()
                if not lv.closed and lv.worker_id is not None
            )
            best = t.best
            done = not running and not self._launching and not self._closing and not self._has_work_locked()
            return SweepProgress(
                sweep_id=self.sweep_id,
                parent_run_id=self.parent_run_id,
                status=self._final.value,
                budget=self._cfg.budget.trials,
                started=t.started,
                finished=t.finished,
                pruned=t.pruned,
                failed=t.failed,
                killed=t.killed,
                running=running,
                elapsed_s=now - self._t0,
                completed_this_session=t.session_completed,
                timeout_s=self._cfg.budget.timeout_s,
                best_value=best[0] if best else None,
                best_trial=best[1] if best else None,
                best_run_id=best[2] if best else None,
                goal=self._cfg.metric.goal,
                errors=tuple(t.errors),
                first_error=t.first_error,
                done=done,
            )
