"""What a sweep's trials send, written into the tracking client: child runs, params, tags,
point blocks, artifacts, each trial's end, and the parent's best-trial tags."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from optuna.distributions import BaseDistribution

from sweeps.engine.batch_writer import BatchWriter
from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.messages import Outbox
from sweeps.engine.study import distributions_json
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run, RunStatus
from tracking.point_block import PointBlock

__all__ = ["Best", "BestTags", "TrialRecorder"]

log = logging.getLogger(__name__)

Best = tuple[float, int, str]  # (value, trial number, run id), as `Tally.best`


class TrialRecorder:
    """Writes one sweep's trials as child runs of its parent (no lock needed: the client is thread-safe)."""

    def __init__(self, client: TrackingClient, experiment: str, sweep_id: str, parent_run_id: str) -> None:
        self.client = client
        self._experiment = experiment
        self._sweep_id = sweep_id
        self._parent_run_id = parent_run_id

    def start(
        self,
        number: int,
        params: Mapping[str, object],
        distributions: Mapping[str, BaseDistribution],
        node: str,
        extra_tags: Mapping[str, str] | None = None,
    ) -> Run:
        """The trial's child run, with its tags and sampled params (`extra_tags`: why it was queued)."""
        tags = {
            **(extra_tags or {}),
            layout.KIND: layout.KIND_TRIAL,
            layout.SWEEP_ID: self._sweep_id,
            layout.TRIAL_NUMBER: str(number),
            layout.NODE: node,
            layout.ATTEMPT: "0",
            layout.DISTRIBUTIONS: distributions_json(distributions),
        }
        return self.client.start_run(
            experiment=self._experiment,
            name=layout.trial_name(number),
            tags=tags,
            params=params,
            parent=self._parent_run_id,
        )

    def retried(self, live: LiveTrial, node: str) -> None:
        self.client.set_tags(live.run_id, {layout.ATTEMPT: str(live.attempt), layout.NODE: node})

    def apply(self, live: LiveTrial, outbox: Outbox) -> None:
        """What a running trial sent: its point block queued, its params and tags stored."""
        block = block_of(live, outbox)
        if block is not None:
            self.client.log_block(block)  # checked per key and column: no per-point work here
        self.params_and_tags(live, outbox)

    def params_and_tags(self, live: LiveTrial, outbox: Outbox) -> None:
        if outbox.params:
            self.client.log_params(live.run_id, outbox.params)
        if outbox.tags:
            self.client.set_tags(live.run_id, outbox.tags)

    def put_artifacts(self, live: LiveTrial, files: Mapping[str, bytes]) -> None:
        store = self.client.artifacts(live.run_id)
        for name, data in files.items():
            store.put_bytes(data, name)

    def end(self, live: LiveTrial, status: RunStatus, error: str | None, blocks: Sequence[PointBlock]) -> None:
        """The trial's last points and its status in one transaction; raises when the store refuses."""
        if live.new_params:
            self.client.log_params(live.run_id, live.new_params)
            self.client.set_tags(live.run_id, {layout.DISTRIBUTIONS: distributions_json(live.distributions)})
        self.client.end_runs([(live.run_id, status, error)], blocks=blocks)

    def end_status(self, run_id: str, status: RunStatus, error: str | None) -> None:
        """The status alone, when it could not go with the points (or changed after them); logs failures."""
        try:
            self.client.end_run(run_id, status, error)
        except Exception:
            log.warning("could not record the end of run %s", run_id, exc_info=True)

    def store_best(self, best: Best) -> None:
        """Tag the parent with the best trial so far; logs failures (the sweep goes on)."""
        value, _, run_id = best
        try:
            self.client.set_tags(self._parent_run_id, {layout.BEST_RUN_ID: run_id, layout.BEST_VALUE: repr(value)})
        except Exception:
            log.warning("could not record the sweep's best trial", exc_info=True)


def block_of(live: LiveTrial, outbox: Outbox) -> PointBlock | None:
    """The outbox's metric points (intermediate and objective values included), as logged to the trial's run."""
    block = outbox.block
    if block is None or not len(block):
        return None
    return block if block.run_id == live.run_id else dataclasses.replace(block, run_id=live.run_id)


class BestTags:
    """Writes the parent's best-trial tags off the callers' path; improvements close together share a write."""

    def __init__(self, recorder: TrialRecorder, current: Callable[[], Best | None]) -> None:
        self._recorder = recorder
        self._current = current  # reads the tally's best (under the coordinator's lock)
        self._writer: BatchWriter[bool] = BatchWriter(self._write, "sweeps-best-writer")

    def queue(self) -> bool:
        """Ask for a write; False once `shutdown` has run (the caller then calls `write_now`)."""
        try:
            self._writer.submit(True)
        except RuntimeError:
            return False
        return True

    def write_now(self) -> None:
        self._write()

    def shutdown(self, wait: bool = True) -> None:
        """No more writes are queued; with `wait`, returns once the queued ones are stored."""
        self._writer.shutdown(wait=wait)

    def _write(self, _batch: object = None) -> None:
        best = self._current()
        if best is not None:
            self._recorder.store_best(best)
