"""The store protocol: what `TrackingClient` needs from a backend (SQL today, an HTTP server later).

Contract, for every implementation:

- **Thread-safe**: one store serves every thread of its process (the sink's writers included).
- **Frozen records**: `Experiment`, `Run`, `Metric` come back immutable; a caller changing what
  it got never changes the store.
- **One transaction per method**: a method either does all it was asked or nothing
  (``end_runs`` stores its points and every status, or none of them).
- **Metric points are first-wins per (run, key, step)**: a point at a step already stored is
  dropped, within a batch too, so a retried batch never duplicates and never changes a summary.
  Each run's summary (last by step, min/max ignoring NaN) is kept in the same transaction.
- **Finished runs**: ``log_params`` on a run that is not RUNNING raises `RunFinished`; tags
  may still be set and deleted (the sweep tags ended runs, the registry tags versions' runs).
  The points path does not look at the status (the client refuses points for a finished run
  before they are queued, and ``end_runs`` stores a run's last points with its end).
- **Errors**: only `TrackingError` subclasses leave a method: `RunNotFound` and
  `ExperimentNotFound` for unknown ids, `RunExists` for a taken run id, `RunFinished`,
  `ParamConflict`, `InvalidParameter` for bad arguments, `FilterError` for a bad search,
  `SweepLeased` for a sweep another driver owns, `StoreUnavailable` when the backend cannot be
  reached (or stays locked past its retries), `SchemaVersionError` at open, and `StoreError`
  for anything else the backend refuses.
  Database and driver exceptions are chained as ``__cause__``, never raised.
- **Sweep leases**: one driver owns a sweep at a time. ``acquire_lease`` is atomic across
  processes and hosts: it takes a free or lapsed lease, renews the caller's own, and otherwise
  raises `SweepLeased` naming the holder. Expiry uses the clock of the process that talks to the
  database (hosts sharing a store keep their clocks in sync, as NTP does; a skew of s seconds
  moves every expiry by s).
- Arguments arrive checked by the client (keys, values, steps; see `tracking.validation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tracking.artifacts import Artifacts
from tracking.entities import Experiment, Lease, Metric, MetricPoint, Run, RunStatus
from tracking.point_block import PointBlock

if TYPE_CHECKING:
    from tracking.registry.store import RegistryStore

# (run id, final status, error text) of a run to end.
RunEnd = tuple[str, RunStatus, str | None]
# Loose points and point blocks in arrival order, written in one transaction.
PointBatch = Sequence[MetricPoint | PointBlock]


@runtime_checkable
class Store(Protocol):
    """Persistence of experiments, runs, params, tags and metrics; see the module docstring."""

    uri: str  # for display and for opening another store on the same data (may hold a password)
    sink_writers: int  # how many metric-sink writer threads gain from writing at once

    def close(self) -> None:
        """Release connections; every later call raises `StoreError`."""
        ...

    def check_writable(self) -> None:
        """Raise `StoreError` now if this store cannot take writes at all (read-only file or database)."""
        ...

    def registry_store(self) -> RegistryStore:
        """The model registry's records in the same backend (see `tracking.registry.store`)."""
        ...

    def artifacts(self, run: Run) -> Artifacts:
        """The artifact folder of ``run`` (a SQL store: the folder at ``run.artifact_uri``)."""
        ...

    # -- experiments ----------------------------------------------------------------------

    def get_or_create_experiment(self, name: str, artifact_root: str) -> Experiment:
        """The experiment named ``name``, created (artifacts under ``artifact_root/<id>``) on first use."""
        ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def get_experiment(self, experiment_id: int) -> Experiment:
        """Raises `ExperimentNotFound` for an unknown id."""
        ...

    def list_experiments(self) -> list[Experiment]: ...

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        experiment: Experiment,
        *,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        user: str | None,
        run_id: str | None = None,
    ) -> Run:
        """A new RUNNING run with its tags and params; `RunNotFound` for an unknown parent,
        `RunExists` for a ``run_id`` already taken."""
        ...

    def get_run(self, run_id: str) -> Run:
        """Raises `RunNotFound` for an unknown id."""
        ...

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs with these ids, in the given order; unknown ids are skipped."""
        ...

    def child_runs(self, parent_run_id: str) -> list[Run]:
        """The children of a run, in start order."""
        ...

    def run_status(self, run_id: str) -> RunStatus:
        """Raises `RunNotFound` for an unknown id."""
        ...

    def end_run(self, run_id: str, status: RunStatus, error: str | None = None) -> None:
        """Record a run's final status and end time; `RunNotFound` for an unknown id."""
        ...

    def end_runs(self, ends: Sequence[RunEnd], batch: PointBatch = ()) -> None:
        """Store ``batch`` and then the final status of every run of ``ends``, in one transaction;
        an unknown run id raises `RunNotFound` and nothing is written."""
        ...

    def set_run_status(self, run_id: str, status: RunStatus) -> None:
        """Change a run's status (RUNNING clears its end time); `RunNotFound` for an unknown id."""
        ...

    def count_runs(self, experiment_id: int | None = None) -> int: ...

    def runs_with_tag(self, key: str, value: str | None = None) -> list[Run]:
        """Runs carrying tag ``key`` (equal to ``value`` when given), newest first."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[int],
        filter_text: str | None,
        order_by: Sequence[str],
        max_results: int,
        parent_run_id: str | None = None,
        lifecycle: str = "active",
    ) -> list[Run]:
        """Runs matching the filter language (see `tracking.search`), ordered, at most ``max_results``.

        ``lifecycle``: ``active`` (soft-deleted runs hidden), ``deleted`` (only those) or ``all``.
        Raises `FilterError` for a filter or order-by that does not parse, `InvalidParameter`
        for a bad ``max_results``.
        """
        ...

    # -- params and tags ------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Immutable params: the same value again is a no-op, a different one `ParamConflict`
        (and nothing of the call is written); `RunFinished` unless the run is RUNNING."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set or overwrite tags, on a run of any status; `RunNotFound` for an unknown id."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag (a missing one is no error; an unknown run is `RunNotFound`)."""
        ...

    # -- lifecycle: soft deletion and renaming ----------------------------------------------
    # A deleted run (or every run of a deleted experiment) is left out of `search_runs`,
    # `child_runs`, `runs_with_tag` and `count_runs`; `get_run` / `get_runs` still return it,
    # with ``deleted_at`` set. `list_experiments` returns deleted experiments, marked.

    def delete_run(self, run_id: str) -> list[str]:
        """Soft-delete the run and every run below it (children, grandchildren...); the ids hidden.
        `LifecycleError` if it is deleted already, `RunInUse` if it or a run below it backs a
        registered model version (naming them), `RunNotFound` for an unknown id."""
        ...

    def restore_run(self, run_id: str) -> list[str]:
        """Undo a `delete_run`: the run and the runs that deletion hid; the ids restored.
        `LifecycleError` if it is not deleted or its experiment is."""
        ...

    def delete_experiment(self, experiment_id: int) -> int:
        """Soft-delete the experiment and all its active runs; how many runs it hid.
        `LifecycleError` if deleted already, `RunInUse` if one of its runs backs a model version."""
        ...

    def restore_experiment(self, experiment_id: int) -> int:
        """Undo a `delete_experiment` (with the runs it hid); `LifecycleError` if it is not deleted."""
        ...

    def set_run_name(self, run_id: str, name: str) -> None:
        """Rename a run (any status, deleted too); `RunNotFound` for an unknown id."""
        ...

    # -- metrics --------------------------------------------------------------------------

    def write_metric_points(self, batch: PointBatch) -> None:
        """Store points and blocks, first-wins per (run, key, step), and their summaries."""
        ...

    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[str, dict[str, list[Metric]]]:
        """``{run_id: {key: [Metric...]}}`` in step order; runs and keys without points are absent."""
        ...

    def reserve_steps(self, run_id: str, wanted: Mapping[str, tuple[int, int]]) -> dict[str, int]:
        """For each ``key: (at_least, count)``, claim ``count`` consecutive steps (the first
        returned, ``>= at_least``) for this writer's ``step=None`` points; no other writer of
        the run gets any of them."""
        ...

    def release_steps(self, run_id: str, unused: Mapping[str, tuple[int, int]]) -> None:
        """For each ``key: (end, used)``, give back the reserved steps ``used..end`` unless
        another writer has reserved since (then they stay a gap)."""
        ...

    def next_steps(self, run_id: str, keys: Iterable[str]) -> dict[str, int]:
        """The step after the last stored one for each key (0 for a key without points)."""
        ...

    # -- sweep leases ---------------------------------------------------------------------

    def acquire_lease(self, sweep_run_id: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
        """Own the sweep whose parent run is ``sweep_run_id`` for ``ttl_s`` seconds: a lease
        nobody holds or whose holder let it lapse is taken, ``owner``'s own is renewed; one
        another owner holds raises `SweepLeased` (its host, pid and seconds until it lapses)."""
        ...

    def renew_lease(self, sweep_run_id: str, owner: str, ttl_s: float) -> Lease:
        """Extend ``owner``'s lease to ``ttl_s`` seconds from now; `SweepLeased` when it is lost
        (another owner took it over after it lapsed, or it is gone)."""
        ...

    def release_lease(self, sweep_run_id: str, owner: str) -> None:
        """Give up ``owner``'s lease; a lease it does not hold (any more) is left alone."""
        ...

    def get_lease(self, sweep_run_id: str) -> Lease | None:
        """The sweep's lease as stored (lapsed ones too: see `Lease.live`), or None."""
        ...
