"""The tracking client: one explicit object owning a store, an artifact root and a metric sink."""

from __future__ import annotations

import getpass
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from tracking.artifacts import ArtifactInfo, Artifacts
from tracking.entities import Experiment, Metric, MetricPoint, Run, RunStatus
from tracking.errors import ExperimentNotFound, InvalidParameter, LifecycleError, RunDeleted, RunFinished, RunNotFound
from tracking.limits import RUN_ID_LEN
from tracking.models import payload_tag, save_model
from tracking.point_block import PointBlock
from tracking.registry import ModelRegistry
from tracking.run_handle import ActiveRun
from tracking.sink import RETRY_FOR_S, MetricSink, ShardedSink, SinkStats
from tracking.step_blocks import StepBlocks
from tracking.store import Store, open_store
from tracking.uri import mask_password, resolve_artifact_root
from tracking.validation import (
    check_key,
    check_metric_value,
    check_run_id,
    check_run_name,
    check_step,
    check_timestamp,
    param_text,
)

if TYPE_CHECKING:
    import polars as pl

DEFAULT_EXPERIMENT = "Default"


def current_user() -> str:
    try:
        return os.environ.get("SWEEPS_USER") or getpass.getuser()
    except Exception:
        return "unknown"


_HEX_PREFIX = re.compile(r"[0-9a-f]{4,31}")  # a short run id: what `sweeps show` and the leaderboard print
_SHOWN_CANDIDATES = 5


class TrackingClient:
    """Runs, params, metrics, tags, artifacts and search over one store.

    Metric points go through a batching sink; reads made through this client flush the
    points they read first (of the runs read, or all for searches), so a client always reads
    its own writes. Use as a context manager, or call :meth:`close`, to flush and release
    the store. ``store``: a ready `tracking.store.Store` to use instead of opening ``uri``.
    """

    def __init__(
        self,
        uri: str | None = None,
        artifacts: str | None = None,
        *,
        store: Store | None = None,
        user: str | None = None,
        upgrade: bool = False,
        batch_size: int = 1_000,
        flush_interval_s: float = 1.0,
        max_pending: int = 200_000,
        sink_writers: int | None = None,
        retry_for_s: float = RETRY_FOR_S,
        token: str | None = None,
    ) -> None:
        if store is not None and uri is not None:
            raise InvalidParameter("pass a store URI or a ready store, not both")
        # token: a Sweeps server's bearer token (None: $SWEEPS_TOKEN); never kept by the client.
        self._store: Store = store if store is not None else open_store(uri, upgrade=upgrade, token=token)
        self.uri = self._store.uri
        self.artifact_root = resolve_artifact_root(artifacts)
        self.user = user or current_user()
        writers = sink_writers or self._store.sink_writers
        # retry_for_s: how long a batch of points is retried while the store is unavailable
        # (a database restart) before the runs whose points it holds are told they lost them.
        options = {
            "batch_size": batch_size,
            "max_batch": max(batch_size, 20_000),
            "flush_interval_s": flush_interval_s,
            "retry_for_s": retry_for_s,
        }
        pending = max(max_pending, 20_000 * writers)
        write = self._store.write_metric_points
        self._sink: MetricSink | ShardedSink = (
            MetricSink(write, max_pending=pending, **options)  # type: ignore[arg-type]
            if writers == 1
            else ShardedSink(write, writers, max_pending=pending, **options)
        )
        self._lock = threading.Lock()
        self._next_step: dict[tuple[str, str], int] = {}
        self._writable: set[str] = set()  # runs known to be RUNNING
        self._created: set[str] = set()  # runs this client started: no stored steps to seed from
        # step=None points of several clients logging to one run never share a step.
        self._step_blocks = StepBlocks(self._store.reserve_steps, self._store.release_steps)
        # Experiments are never renamed, so a name resolved once stays valid until this client
        # deletes it (another client's deletion is seen when this one next resolves the name).
        self._experiments: dict[str, Experiment] = {}
        self._registry: ModelRegistry | None = None

    def __repr__(self) -> str:
        return f"TrackingClient({mask_password(self.uri)!r}, artifacts={self.artifact_root!r})"

    def __enter__(self) -> TrackingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._registry is not None:
                self._registry.close()  # its webhook thread; undelivered events stay in the outbox
            self._sink.close()
            with self._lock:
                self._step_blocks.give_back()
        finally:
            self._store.close()

    def check_writable(self) -> None:
        """Raise `StoreError` now if the store cannot take writes (before starting work that will write)."""
        self._store.check_writable()

    def flush(self, timeout_s: float | None = None) -> None:
        """Make every metric point logged so far visible to readers.

        Raises `SinkError` if points were lost and no call has said so yet (see `tracking.sink`),
        or if ``timeout_s`` passes first.
        """
        self._sink.flush(timeout_s)
        # Only once the points are stored: another writer may then start where these ended.
        with self._lock:
            self._step_blocks.give_back()

    def sink_stats(self) -> SinkStats:
        """The metric sink's counters: points held now, the most held at once, batches written, writer threads."""
        return self._sink.stats()

    @property
    def registry(self) -> ModelRegistry:
        if self._registry is None:
            self._registry = ModelRegistry(self, self._store.registry_store())
        return self._registry

    # -- experiments -----------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        known = self._experiments.get(name)
        if known is not None:
            return known
        check_key("experiment", name)
        found = self._store.get_or_create_experiment(name, self.artifact_root)
        if found.deleted:
            raise LifecycleError(
                f"experiment {name!r} is deleted; restore it first (client.restore_experiment({name!r})) "
                "or use another experiment"
            )
        self._experiments[name] = found
        return found

    def get_experiment_by_name(self, name: str) -> Experiment:
        """The experiment named ``name``, a deleted one too (``deleted`` tells); `ExperimentNotFound` for none."""
        known = self._experiments.get(name)
        if known is not None:
            return known
        found = self._store.get_experiment_by_name(name)
        if found is None:
            raise ExperimentNotFound(f"no experiment named {name!r}")
        if not found.deleted:
            self._experiments[name] = found
        return found

    def list_experiments(self, *, include_deleted: bool = False) -> list[Experiment]:
        found = self._store.list_experiments()
        return found if include_deleted else [e for e in found if not e.deleted]

    # -- lifecycle: soft deletion and renaming -----------------------------------------------

    def delete_run(self, run_id: str) -> list[str]:
        """Soft-delete a run and every run below it (a sweep's trials with their sweep); the ids hidden.

        Deleted runs are left out of `search_runs`, `child_runs`, `runs_with_tag`, sweep listings
        and reports until `restore_run`, or until `sweeps gc` purges them; `get_run` still returns
        one, with ``run.deleted`` true. A run that backs a registered model version (or has one
        below it) is refused with `RunInUse`; deleting it twice with `LifecycleError`.
        """
        self._sink.flush(run_ids=(run_id,))
        hidden = self._store.delete_run(check_run_id(run_id))
        with self._lock:  # their next write asks the store again, which refuses it
            self._writable.difference_update(hidden)
        return hidden

    def restore_run(self, run_id: str) -> list[str]:
        """Undo `delete_run`: the run and the runs its deletion hid (not those deleted on their own); the ids."""
        return self._store.restore_run(check_run_id(run_id))

    def delete_experiment(self, name: str) -> int:
        """Soft-delete the experiment ``name`` and all its runs (how many runs it hid); no new run can start
        in it until `restore_experiment`. `RunInUse` when one of its runs backs a registered model version."""
        experiment = self.get_experiment_by_name(name)
        self._sink.flush(report=False)
        hidden = self._store.delete_experiment(experiment.experiment_id)
        self._experiments.pop(name, None)
        with self._lock:  # its runs' ids are not returned: every run is asked about again, once
            self._writable.clear()
        return hidden

    def restore_experiment(self, name: str) -> int:
        """Undo `delete_experiment`, with the runs it hid; how many runs it restored."""
        experiment = self.get_experiment_by_name(name)
        restored = self._store.restore_experiment(experiment.experiment_id)
        self._experiments.pop(name, None)
        return restored

    def set_run_name(self, run_id: str, name: str) -> None:
        """Rename a run (of any status); the name is 1 to 250 characters."""
        checked = check_run_name(name)
        if checked is None:
            raise InvalidParameter("a run's new name must not be empty")
        self._store.set_run_name(check_run_id(run_id), checked)

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        experiment: str = DEFAULT_EXPERIMENT,
        name: str | None = None,
        *,
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
        parent: ActiveRun | Run | str | None = None,
        run_id: str | None = None,
    ) -> ActiveRun:
        """Create a RUNNING run in ``experiment`` (created on first use) and return its handle."""
        name = check_run_name(name)
        run_id = None if run_id is None else check_run_id(run_id)
        tag_texts, param_texts = _texts("tag", tags), _texts("param", params)
        exp = self.get_or_create_experiment(experiment)
        parent_id = parent if isinstance(parent, str) or parent is None else parent.run_id
        run = self._store.create_run(
            exp,
            name=name,
            parent_run_id=parent_id,
            tags=tag_texts,
            params=param_texts,
            user=self.user,
            run_id=run_id,
        )
        with self._lock:
            self._writable.add(run.run_id)
            self._created.add(run.run_id)
        return ActiveRun(self, run)

    def attach(self, run_id: str) -> ActiveRun:
        """A handle on an existing RUNNING run (e.g. in another process than its creator)."""
        self._require_writable(run_id)
        return ActiveRun(self, self._store.get_run(run_id))

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED, error: str | None = None) -> None:
        """Store the run's queued points and its final status, in one transaction."""
        self.end_runs([(run_id, status, error)])

    def end_runs(
        self,
        ends: Sequence[tuple[str, RunStatus, str | None]],
        points: Sequence[MetricPoint] = (),
        blocks: Sequence[PointBlock] = (),
    ) -> None:
        """`end_run` for several runs at once, with their last metric points: one transaction.

        `ends` holds (run id, status, error); `points` (each with its run id) and `blocks` are
        checked before anything is written and stored after every point queued before them.
        Only these runs' queued points are written with them, not the whole sink's.
        """
        checked = [
            MetricPoint(
                p.run_id,
                check_key("metric", p.key),
                check_step(p.key, p.step),
                check_metric_value(p.key, p.value),
                check_timestamp(p.key, p.timestamp),
            )
            for p in points
        ]
        checked_blocks = [b for b in (block.check() for block in blocks) if len(b)]
        ends = [(run_id, RunStatus(status), error) for run_id, status, error in ends]
        written = {p.run_id for p in checked} | {b.run_id for b in checked_blocks}
        for run_id in written:
            self._require_writable(run_id)  # as log_batch: a finished run takes no more points
        # The runs' points still queued go first, in the same transaction: ending one trial
        # does not wait for the rest of the sweep's points. A run whose points were lost may
        # end FAILED or KILLED (that records the loss), never FINISHED: `take` raises for it.
        failing = {run_id for run_id, status, _ in ends if status in (RunStatus.FAILED, RunStatus.KILLED)}
        taken = self._sink.take(written | {run_id for run_id, _, _ in ends}, lost_ok=failing)
        try:
            self._store.end_runs(ends, [*taken.items, *checked, *checked_blocks])
        except BaseException:
            taken.restore()
            raise
        taken.done()
        self._sink.forget(failing)
        with self._lock:
            self._writable.difference_update(run_id for run_id, _, _ in ends)

    def get_run(self, run_id: str) -> Run:
        self._sink.flush(run_ids=(run_id,))
        return self._store.get_run(run_id)

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        self._sink.flush(run_ids=run_ids)
        return self._store.get_runs(run_ids)

    def child_runs(self, parent: ActiveRun | Run | str) -> list[Run]:
        self._sink.flush(report=False)  # lost points are reported to their runs' writers
        return self._store.child_runs(parent if isinstance(parent, str) else parent.run_id)

    @overload
    def get_metric_history(self, run_id: str, key: str, *, as_frame: Literal[False] = False) -> list[Metric]: ...
    @overload
    def get_metric_history(self, run_id: str, key: str, *, as_frame: Literal[True]) -> pl.DataFrame: ...

    def get_metric_history(self, run_id: str, key: str, *, as_frame: bool = False) -> list[Metric] | pl.DataFrame:
        """The points of one metric in step order: `Metric` records, or with ``as_frame=True`` a polars
        frame of ``key``, ``step``, ``value``, ``timestamp`` (``.to_pandas()`` for pandas)."""
        history = self.metric_histories([run_id], [key]).get(run_id, {}).get(key, [])
        if not as_frame:
            return history
        import polars as pl  # only for frames

        return pl.DataFrame(
            {
                "key": [m.key for m in history],
                "step": [m.step for m in history],
                "value": [m.value for m in history],
                "timestamp": [m.timestamp for m in history],
            },
            schema={"key": pl.String, "step": pl.Int64, "value": pl.Float64, "timestamp": pl.Int64},
        )

    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[str, dict[str, list[Metric]]]:
        """Histories of several runs and keys in one read: ``{run_id: {key: [Metric...]}}``."""
        self._sink.flush(run_ids=run_ids)
        if not run_ids or not keys:
            return {}
        return self._store.metric_histories(run_ids, keys)

    def runs_with_tag(self, key: str, value: str | None = None) -> list[Run]:
        """Runs carrying tag ``key`` (with ``value``, when given), newest first."""
        self._sink.flush(report=False)
        return self._store.runs_with_tag(key, value)

    def set_run_status(self, run_id: str, status: RunStatus) -> None:
        """Change a run's status without ending it (e.g. a resumed sweep's parent back to RUNNING)."""
        self._sink.flush(run_ids=(run_id,))
        status = RunStatus(status)
        self._store.set_run_status(run_id, status)
        with self._lock:
            if status is RunStatus.RUNNING:
                self._writable.add(run_id)
            else:
                self._writable.discard(run_id)

    def get_experiment(self, experiment_id: int) -> Experiment:
        return self._store.get_experiment(experiment_id)

    def search_runs(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1_000,
        *,
        parent: str | None = None,
        lifecycle: str = "active",
    ) -> pl.DataFrame:
        """Runs matching ``filter`` as a polars DataFrame, one row per run (see tracking.search).

        ``lifecycle``: ``active`` (default: soft-deleted runs left out), ``deleted`` or ``all``.
        """
        from tracking.search.runs_frame import runs_frame  # polars: only for searches

        self._sink.flush(report=False)
        names = [experiment] if isinstance(experiment, str) else list(experiment or [])
        ids = [self.get_experiment_by_name(n).experiment_id for n in names]
        runs = self._store.search_runs(
            ids, filter, list(order_by or []), max_results, parent_run_id=parent, lifecycle=lifecycle
        )
        return runs_frame(runs)

    def resolve_run_id(self, text: str) -> str:
        """The run id that ``text`` names: a whole id, or an unambiguous prefix (the short ids the CLI prints).

        `RunNotFound` (naming the store) when no run starts so; `InvalidParameter` listing the
        candidates when several do.
        """
        text = text.strip().lower()
        if len(text) == RUN_ID_LEN or not _HEX_PREFIX.fullmatch(text):
            return text  # a whole id (or something that is none): the lookup itself says so
        # Deleted runs too: `sweeps runs restore` takes the short ids that `sweeps runs` printed.
        found = self._store.search_runs([], f"run_id like '{text}%'", [], _SHOWN_CANDIDATES + 1, lifecycle="all")
        ids = sorted(r.run_id for r in found)
        if not ids:
            raise RunNotFound(f"no run id starts with {text!r} in store {mask_password(self.uri)}")
        if len(ids) > 1:
            shown = ", ".join(ids[:_SHOWN_CANDIDATES]) + (" ..." if len(ids) > _SHOWN_CANDIDATES else "")
            raise InvalidParameter(f"run id prefix {text!r} is ambiguous: it starts {shown}; give more characters")
        return ids[0]

    # -- params, tags, metrics -------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        self._store.log_params(run_id, _texts("param", params))

    def log_param(self, run_id: str, key: str, value: object) -> None:
        self.log_params(run_id, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, object]) -> None:
        self._store.set_tags(run_id, _texts("tag", tags))

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        self.set_tags(run_id, {key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run (a tag it does not have is no error)."""
        self._store.delete_tag(run_id, check_key("tag", key))

    def log_metric(
        self, run_id: str, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        self.log_metrics(run_id, {key: value}, step=step, timestamp=timestamp)

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Queue points for the sink; ``step=None`` takes the next step of each key."""
        self._sink.put(self.make_points(run_id, metrics, step, timestamp), run_id=run_id)

    def make_points(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> list[MetricPoint]:
        """Validated points for ``run_id``, with steps assigned; raises before anything is queued."""
        self._require_writable(run_id)
        ts = int(time.time() * 1000) if timestamp is None else check_timestamp(next(iter(metrics), ""), timestamp)
        points = []
        for key, value in metrics.items():
            check_key("metric", key)
            number = check_metric_value(key, value)
            points.append((key, number, None if step is None else check_step(key, step)))
        with self._lock:
            # Seed explicit-step keys too: a later step=None on an attached run must go past
            # the steps already stored, not just past the ones logged through this client.
            self._seed_steps_locked(run_id, [k for k, _, _ in points])
            # An automatic step is checked as an explicit one (past 2**63-1 it fails here, not
            # in the store's batch), before any counter moves: all or nothing.
            auto = {key: check_step(key, self._next_step[(run_id, key)]) for key, _, s in points if s is None}
            if auto:
                auto = {k: check_step(k, s) for k, s in self._step_blocks.steps(run_id, auto).items()}
            chosen = [auto[key] if s is None else s for key, _, s in points]
            out = []
            for (key, number, _), step_ in zip(points, chosen, strict=True):
                counter = (run_id, key)
                self._next_step[counter] = max(self._next_step.get(counter, 0), step_ + 1)
                out.append(MetricPoint(run_id, key, step_, number, ts))
        return out

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint | Metric] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        """Log many things at once; metric points keep their own steps and timestamps."""
        self._require_writable(run_id)
        # Check everything before writing anything: a bad point must not leave params behind.
        tops: dict[str, int] = {}  # each key's highest step: a key is checked once, not per point
        points = []
        for m in metrics:
            key, step = m.key, check_step(m.key, m.step)
            top = tops.get(key) if type(key) is str else None
            if top is None:
                tops[check_key("metric", key)] = step
            elif step > top:
                tops[key] = step
            value, stamp = check_metric_value(key, m.value), check_timestamp(key, m.timestamp)
            same = value is m.value and step is m.step and stamp is m.timestamp
            if same and type(m) is MetricPoint and m.run_id == run_id:
                points.append(m)  # already exactly what would be built
            else:
                points.append(MetricPoint(run_id, key, step, value, stamp))
        param_texts, tag_texts = _texts("param", params), _texts("tag", tags)
        if param_texts:
            self._store.log_params(run_id, param_texts)
        if tag_texts:
            self._store.set_tags(run_id, tag_texts)
        with self._lock:  # a later step=None must go past these steps
            self._seed_steps_locked(run_id, list(tops))
            for key, top in tops.items():
                counter = (run_id, key)
                self._next_step[counter] = max(self._next_step[counter], top + 1)
        self._sink.put(points, run_id=run_id)

    def log_block(self, block: PointBlock) -> None:
        """Queue a block of one run's points (see `tracking.point_block`), steps and timestamps its own.

        The same rules as `log_batch`, applied per key and per column rather than per point.
        """
        block = block.check()
        self._require_writable(block.run_id)
        if not len(block):
            return
        tops = block.max_steps()
        with self._lock:  # a later step=None must go past these steps
            self._seed_steps_locked(block.run_id, list(tops))
            for key, top in tops.items():
                counter = (block.run_id, key)
                self._next_step[counter] = max(self._next_step[counter], top + 1)
        self._sink.put_block(block)

    def _seed_steps_locked(self, run_id: str, keys: list[str]) -> None:
        missing = [k for k in keys if (run_id, k) not in self._next_step]
        if not missing:
            return
        # A run this client started has nothing stored yet: no query needed.
        fresh = run_id in self._created
        seeded = dict.fromkeys(missing, 0) if fresh else self._store.next_steps(run_id, missing)
        for key, value in seeded.items():
            self._next_step[(run_id, key)] = value

    def _require_writable(self, run_id: str) -> None:
        if run_id in self._writable:
            return
        status = self._store.run_status(run_id)  # raises RunNotFound for an unknown id
        if status is not RunStatus.RUNNING:
            raise RunFinished(f"run {run_id} is {status.value}; a finished run takes no more params or metrics")
        with self._lock:
            self._writable.add(run_id)

    # -- artifacts -------------------------------------------------------------------------

    def artifacts(self, run_id: str) -> Artifacts:
        """The run's artifact folder (on a server: streamed through it)."""
        return self._store.artifacts(self._store.get_run(run_id))

    def writable_artifacts(self, run_id: str) -> Artifacts:
        """`artifacts` of a run that takes writes: `RunDeleted` for a deleted run (from the same lookup)."""
        run = self._store.get_run(run_id)
        if run.deleted:
            raise RunDeleted.of(run_id)
        return self._store.artifacts(run)

    def log_artifact(self, run_id: str, path: str | os.PathLike[str], name: str | None = None) -> str:
        return self.writable_artifacts(run_id).put_file(path, name)

    def log_dict(self, run_id: str, obj: object, name: str) -> str:
        return self.writable_artifacts(run_id).put_json(obj, name)

    def log_text(self, run_id: str, text: str, name: str) -> str:
        return self.writable_artifacts(run_id).put_bytes(text.encode(), name)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[ArtifactInfo]:
        return self.artifacts(run_id).list(path)

    def download_artifacts(self, run_id: str, path: str | None, destination: str | os.PathLike[str]) -> Path:
        return self.artifacts(run_id).download(path, destination)

    def log_model(self, run_id: str, model: object, name: str = "model", **kwargs: object) -> str:
        """Save ``model`` as a model folder under the run's artifacts; returns ``runs:/<id>/<name>``."""
        info = save_model(model, self.writable_artifacts(run_id), name, **kwargs)  # type: ignore[arg-type]
        self.set_tags(run_id, {payload_tag(info.path): info.sha256})  # what load_model checks against
        return f"runs:/{run_id}/{name}"

    def recorded_payload_sha256(self, run_id: str, path: str) -> str | None:
        """The payload hash recorded in the store when the model folder ``path`` was logged."""
        return self.get_run(run_id).tags.get(payload_tag(path))


def _texts(kind: str, values: Mapping[str, object] | None) -> dict[str, str]:
    return {check_key(kind, k): param_text(k, v) for k, v in (values or {}).items()}


def connect(
    uri: str | None = None, artifacts: str | None = None, *, store: Store | None = None, **options: object
) -> TrackingClient:
    """Open a client on ``uri`` (``None``: ``$SWEEPS_STORE``, else ``sqlite:///sweeps.db``), or on a ready ``store``."""
    return TrackingClient(uri, artifacts, store=store, **options)  # type: ignore[arg-type]
