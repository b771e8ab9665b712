"""The driver-side owner of a sweep: hands out trials, takes what they send, ends them.

It runs in the driver process (both backends); workers reach it through their channel, and
on Ray one driver thread per worker calls it, so it is thread-safe. A facade over four parts:
`Schedule` (what runs where), `OptunaBridge` (the study), `TrialRecorder` (the store) and
`TrialCloser` (every trial's end). Study and schedule work happens under one lock; store
writes happen outside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import optuna
from optuna.distributions import BaseDistribution

import tracking
from sweeps.engine import trial_end
from sweeps.engine.groups import Groups, RepeatGroup
from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.messages import Outbox, TrialAssignment, TrialOutcome, WorkerInfo
from sweeps.engine.optuna_bridge import OptunaBridge
from sweeps.engine.parent import SweepSetup, create_parent
from sweeps.engine.queue_tags import ENQUEUED, GROUP, REPEAT, REPEATS_PARAM, RERUN_OF, WARM_TRIALS
from sweeps.engine.recording import Best, BestTags, TrialRecorder
from sweeps.engine.result import SweepProgress
from sweeps.engine.schedule import Schedule
from sweeps.engine.shipping import is_local_uri
from sweeps.engine.study import numbered
from sweeps.engine.study_restore import restore_study
from sweeps.engine.tally import Tally
from sweeps.engine.trial_end import TrialCloser
from sweeps.errors import LeaseLost, SweepsError
from tracking.entities import RunStatus
from tracking.uri import is_http

__all__ = ["Coordinator"]


@dataclass(frozen=True)
class _Launch:
    """A new trial about to get its run: its Optuna trial, params and number (and repeat group)."""

    handle: optuna.Trial
    params: dict[str, object]
    number: int
    group: RepeatGroup | None = None
    repeat: int = 0


class Coordinator:
    """Hands out trials, records what they log, tells Optuna how they ended (thread-safe)."""

    def __init__(self, setup: SweepSetup) -> None:
        cfg = setup.config
        self._setup = setup
        self._cfg = cfg
        self._client = tracking.connect(setup.store_uri, setup.artifact_root)
        self._lock = threading.Lock()
        self._bridge = OptunaBridge(cfg, setup.sweep_id)
        self._tally = Tally(maximize=cfg.metric.goal == "maximize")
        self._schedule = Schedule(self._lock, cfg.budget, self._tally)
        self._final = RunStatus.RUNNING  # the parent's status once finalize() has run
        self._lease = setup.lease
        enqueued: set[int] = set()
        restored_next = 0
        for trial in setup.warm_trials:  # before the sweep's own trials: its numbers start after them
            self._bridge.study.add_trial(trial)
        self._bridge.offset = len(setup.warm_trials)
        if setup.parent_run_id is None:
            self._parent = create_parent(self._client, setup)
            if setup.warm_trials:
                self._client.set_tags(self._parent.run_id, {WARM_TRIALS: str(len(setup.warm_trials))})
            if cfg.repeats is not None:  # the leaderboard, show and the report rank configurations
                self._client.set_tags(self._parent.run_id, {REPEATS_PARAM: cfg.repeats.param})
            if self._lease is not None:
                self._lease.acquire(self._parent.run_id)  # a new id: no other driver can know it yet
        else:
            self._parent = self._client.get_run(setup.parent_run_id)
            restored = restore_study(self._client, self._bridge.study, cfg, self._parent)
            self._tally.started = restored.started
            for status, n in restored.counts.items():
                self._tally.count(status, n)
            self._tally.best = restored.best
            self._tally.uncounted = restored.uncounted
            self._tally.groups = restored.groups
            restored_next = restored.next_number
            self._bridge.continue_sequence(numbered(self._bridge.study))
            for number, params in restored.rerun:  # first: they were running when the driver stopped
                self._bridge.enqueue(params, {RERUN_OF: str(number)})
            enqueued = restored.enqueued_started
            self._client.set_run_status(self._parent.run_id, RunStatus.RUNNING)
        for index, params in enumerate(cfg.enqueue):
            if index not in enqueued:
                self._bridge.enqueue(params, {ENQUEUED: str(index)})
        self._groups: Groups | None = None
        if cfg.repeats is not None:
            self._groups = Groups(cfg.repeats, next_number=restored_next)
            self._tally.groups = self._tally.groups or 0
            self._schedule.pending_repeats = lambda: self._groups is not None and self._groups.pending() is not None
        self._recorder = TrialRecorder(self._client, cfg.experiment, setup.sweep_id, self._parent.run_id)
        self._best_tags = BestTags(self._recorder, self._current_best)
        self._closer = TrialCloser(
            self._lock,
            self._schedule,
            self._tally,
            self._bridge,
            self._recorder,
            self._best_tags,
            cfg.budget.max_failures,
            still_owner=lambda: self._lease is None or self._lease.lost is None,
        )

    # -- identity --------------------------------------------------------------------------

    @property
    def sweep_id(self) -> str:
        return self._setup.sweep_id

    @property
    def parent_run_id(self) -> str:
        return self._parent.run_id

    # -- handing out trials ----------------------------------------------------------------

    def next_trial(self, worker: WorkerInfo) -> TrialAssignment | None:
        """The next attempt for `worker` (a retry first), or None when nothing is left to run."""
        schedule = self._schedule
        lost = self._lease_lost()
        with self._lock:
            if lost is not None:
                schedule.stop(fatal=lost)
            if schedule.stopping:
                return None
            live = schedule.next_retry(worker.worker_id)
            if live is None:
                launch = self._next_launch()
                if launch is None:
                    return None
                schedule.begin_launch()
        if live is not None:
            self._recorder.retried(live, worker.node)
            return self._assignment(live, worker)
        return self._launch(launch, worker)

    def _next_launch(self) -> _Launch | None:
        """What the next new trial runs (the lock held): a pending repeat first, else a new ask."""
        schedule, groups = self._schedule, self._groups
        group = groups.pending() if groups is not None else None
        if group is not None:
            if not schedule.may_retry():  # stopping or out of time: the configuration stays short
                return None
            number, index, params = groups.launch(group)  # type: ignore[union-attr]
            return _Launch(group.handle, params, number, group, index)
        if not schedule.can_launch():
            return None
        if self._bridge.grid_taken():
            schedule.exhausted = True
            return None
        handle, params = self._bridge.ask()
        if groups is None:
            return _Launch(handle, params, self._bridge.number(handle))
        group = groups.new(handle, params)
        self._tally.groups = (self._tally.groups or 0) + 1
        number, index, params = groups.launch(group)
        return _Launch(handle, params, number, group, index)

    def _launch(self, launch: _Launch, worker: WorkerInfo) -> TrialAssignment | None:
        handle, params, number, group = launch.handle, launch.params, launch.number, launch.group
        distributions = dict(handle.distributions)
        tags = self._bridge.sweep_attrs(handle)
        if group is not None:
            tags[GROUP] = str(number if group.number is None else group.number)
            tags[REPEAT] = str(launch.repeat)
        try:
            run = self._recorder.start(number, params, distributions, worker.node, tags)
        except Exception:
            with self._lock:
                self._schedule.launch_failed()
                if group is None:
                    self._bridge.abandon(handle)
                else:  # the configuration's other repeats still tell Optuna its mean
                    group.ended(launch.repeat, RunStatus.FAILED, None)
            raise
        live = LiveTrial(number, handle, run.run_id, run.artifact_uri, dict(params), distributions)
        if group is not None:
            live.group, live.repeat = group, launch.repeat
            with self._lock:
                group.started(launch.repeat, number, run.run_id)
        with self._lock:
            started = self._schedule.launched(live, worker.worker_id)
        if not started:  # interrupted while the run was being created
            self._closer.close(live, RunStatus.KILLED, error=trial_end.STOPPED_BEFORE_START)
            return None
        return self._assignment(live, worker)

    def _assignment(self, live: LiveTrial, worker: WorkerInfo) -> TrialAssignment:
        # Artifacts of a local root are written where the coordinator runs: a worker on
        # another node ships the bytes here; one on this node (or in-process) writes directly.
        # Behind a server the root is the server's: workers never talk to it, so they always ship.
        ship = is_http(self._setup.store_uri) or (
            is_local_uri(live.artifact_uri) and worker.node_id != self._setup.node_id
        )
        return TrialAssignment(
            number=live.number,
            run_id=live.run_id,
            params=dict(live.params),
            attempt=live.attempt,
            artifact_uri=live.artifact_uri,
            ship_artifacts=ship,
            metric_names=tuple(m.name for m in self._cfg.metrics),
            pruning=self._bridge.gate,
        )

    # -- calls made while a trial runs -----------------------------------------------------

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object:
        """Define-by-run: sample `name` from `distribution` for trial `number`."""
        live = self._open(number)
        if live is None:
            raise SweepsError(f"trial {number} has already ended (the sweep was stopped)")
        self._take(live, outbox)
        with self._lock:
            return self._bridge.suggest(live, name, distribution)

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool:
        """An intermediate value (its point is in the outbox's block); True when the pruner says stop."""
        live = self._open(number)
        if live is None:
            return True  # the trial was closed (sweep stopped): let the objective end
        self._recorder.apply(live, outbox)
        with self._lock:
            self._bridge.report(live, (*outbox.reports, (step, value)))
            return False if live.closed else self._bridge.should_prune(live)

    def send(self, number: int, outbox: Outbox) -> None:
        """Buffered points (and params/tags) of a running trial."""
        live = self._open(number)
        if live is not None:
            self._take(live, outbox)

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None:
        """Write artifacts shipped by a worker on another node into the trial's run."""
        live = self._open(number)
        if live is None:
            raise SweepsError(f"trial {number} has already ended; its artifacts were not stored")
        self._recorder.put_artifacts(live, files)

    def _open(self, number: int) -> LiveTrial | None:
        with self._lock:
            return self._schedule.open(number)

    def _take(self, live: LiveTrial, outbox: Outbox) -> None:
        """An outbox of a running trial: its block and params/tags to the store, its reports to Optuna."""
        self._recorder.apply(live, outbox)
        if outbox.reports:
            with self._lock:
                self._bridge.report(live, outbox.reports)

    # -- ending trials ---------------------------------------------------------------------

    def finish(self, outcome: TrialOutcome) -> None:
        """Record how an attempt ended: its points and status first, then Optuna."""
        with self._lock:
            live = self._schedule.open(outcome.number)
            if live is None or live.attempt != outcome.attempt:
                return  # a stale attempt (its trial was already closed or retried)
            self._schedule.mark_closed(live)
        self._closer.finish(live, outcome)

    def worker_lost(self, worker_id: str, reason: str, timed_out: int | None = None) -> bool:
        """A worker died (or was killed for `timed_out`): retry or fail its trial; True if work is left."""
        error = None
        with self._lock:
            live = self._schedule.lost(worker_id)
            if live is not None:
                retries = self._cfg.execution.retries
                if live.number == timed_out:
                    error = trial_end.timed_out(self._cfg.execution.trial_timeout_s)
                elif live.attempt < retries and self._schedule.may_retry():
                    self._schedule.requeue(live)
                    return True
                else:
                    error = trial_end.worker_died(reason, live.attempt + 1, retries)
                self._schedule.mark_closed(live)
        if live is not None and error is not None:
            self._closer.close(live, RunStatus.FAILED, error=error)
        with self._lock:
            return self._schedule.has_work()

    # -- stopping --------------------------------------------------------------------------

    def stop(self) -> None:
        """Launch nothing more; running trials finish normally."""
        with self._lock:
            self._schedule.stop()

    def abort(self, error: str) -> None:
        """Stop the sweep because it cannot go on (e.g. workers cannot load the objective)."""
        with self._lock:
            self._schedule.stop(fatal=error)

    def interrupt(self, reason: str = trial_end.INTERRUPTED) -> None:
        """Stop launching and end every trial still open as KILLED."""
        with self._lock:
            self._schedule.stop(interrupted=True)
            open_trials = self._schedule.close_open()
        for live in open_trials:
            self._closer.close(live, RunStatus.KILLED, error=reason)

    def finalize(self) -> SweepProgress:
        """End the parent run (FINISHED / FAILED / KILLED), flush and close; returns the final state."""
        schedule = self._schedule
        with self._lock:
            schedule.stop()
            leftover = schedule.close_open()
        for live in leftover:
            self._closer.close(live, RunStatus.KILLED, error=trial_end.ENDED_BEFORE_FINISH)
        with self._lock:
            schedule.wait_closed()  # trials other threads are closing are counted before the parent ends
            status, error = self._tally.final_status(interrupted=schedule.interrupted, fatal=schedule.fatal)
            self._final = status
            self._best_tags.shutdown(wait=False)  # no trial can queue its best between here and the shutdown
        try:
            self._best_tags.shutdown(wait=True)  # every best tag is stored before the parent ends
            self._client.flush()
            if self._owns_sweep():
                self._client.end_run(self.parent_run_id, status, error)
        finally:
            self._client.close()
        return self.progress()

    def _lease_lost(self) -> str | None:
        """Why this driver may no longer launch trials (its lease is another driver's), or None."""
        if self._lease is None:
            return None
        try:
            self._lease.confirm()
        except LeaseLost as exc:
            return str(exc)
        return None

    def _owns_sweep(self) -> bool:
        """Whether the parent's status is still this driver's to write (its lease renewed just now)."""
        if self._lease is None:
            return True
        try:
            self._lease.check()
        except LeaseLost:
            return False  # the driver that took the sweep over ends the parent
        return True

    def _run_budget(self) -> int:
        """The budget in runs, as progress counts them: one per repeat; crashed ones re-run on top."""
        cfg = self._cfg
        if cfg.repeats is not None:
            return cfg.budget.trials * len(cfg.repeats.values)
        return cfg.budget.trials + self._tally.uncounted

    def _current_best(self) -> Best | None:
        with self._lock:
            return self._tally.best

    # -- progress --------------------------------------------------------------------------

    def progress(self) -> SweepProgress:
        """A snapshot for progress displays (and the driver's timeout checks)."""
        now = time.monotonic()
        with self._lock:
            t, schedule = self._tally, self._schedule
            running = schedule.running(now)
            best = t.best
            return SweepProgress(
                sweep_id=self.sweep_id,
                parent_run_id=self.parent_run_id,
                status=self._final.value,
                budget=self._run_budget(),
                started=t.started,
                finished=t.finished,
                pruned=t.pruned,
                failed=t.failed,
                killed=t.killed,
                running=running,
                elapsed_s=now - schedule.t0,
                completed_this_session=t.session_completed,
                timeout_s=self._cfg.budget.timeout_s,
                best_value=best[0] if best else None,
                best_trial=best[1] if best else None,
                best_run_id=best[2] if best else None,
                goal=self._cfg.metric.goal,
                errors=tuple(t.errors),
                first_error=t.first_error,
                done=schedule.done(running),
            )
