"""The SQL store: experiments, runs, params, tags and metrics over one SQLAlchemy engine.

Implements `tracking.store.base.Store` (thread-safe, one transaction per method, frozen
records, only tracking errors). What differs between SQLite and PostgreSQL is the dialect's.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, insert, literal, select, update

from tracking.artifacts import ArtifactStore
from tracking.entities import Experiment, Lease, Metric, MetricSummary, Run, RunStatus
from tracking.errors import (
    ExperimentNotFound,
    LifecycleError,
    ParamConflict,
    RunDeleted,
    RunExists,
    RunFinished,
    RunNotFound,
    StoreError,
    StoreUnavailable,
)
from tracking.gc_pause import paused_gc
from tracking.search.runs_query import select_run_ids
from tracking.store import lease_sql, lifecycle_sql, migrate, step_blocks_sql
from tracking.store import schema as t
from tracking.store.base import PointBatch, RunEnd
from tracking.store.dialects import Dialect, dialect_for_uri
from tracking.store.engine import RETRY_FOR_S, make_engine, read_connection, with_retries
from tracking.store.errors import database_errors, is_integrity_error, reason, translated
from tracking.store.group_commit import GroupCommit
from tracking.store.metric_writer import write_points
from tracking.store.sqlite_files import path_problem, sqlite_path
from tracking.uri import mask_password, resolve_store_uri

if TYPE_CHECKING:
    from tracking.auth.sql_auth import SqlAuth  # auth_store(), at the end of SqlStore
    from tracking.store.registry_sql import SqlRegistryStore  # registry_store(), at the end of SqlStore

T = TypeVar("T")

# Stay well below SQLite's 32,766 and PostgreSQL's 65,535 bind-parameter limits.
CHUNK = 500
# A batch of metric points gives up on an unavailable database sooner than other writes: the
# metric sink retries it for as long as its client allows (`tracking.sink`).
POINTS_RETRY_FOR_S = 5.0
MAX_KNOWN_PARENTS = 1_024

# The run hot path (a sweep creates and ends a run per trial) goes straight to the driver,
# as the metric writer does; "?" placeholders become "%s" on PostgreSQL.
_RUN_COLUMNS = (
    "run_id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "artifact_uri",
    "error",
    "user",
)
_INSERT_RUN = "INSERT INTO runs ({}) VALUES ({})".format(
    ", ".join(f'"{c}"' for c in _RUN_COLUMNS),
    ", ".join("?" * len(_RUN_COLUMNS)),  # "user" is reserved on PostgreSQL
)
_INSERT_TAG = "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"
_INSERT_PARAM = "INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)"
# A run ends no earlier than it started: `StartClock` may hand out start times a little ahead of
# the clock (runs created faster than one a millisecond), and a duration is never negative.
_END_RUN = (
    "UPDATE runs SET status = ?, end_time = CASE WHEN start_time > ? THEN start_time ELSE ? END, error = ? "
    "WHERE run_id = ?"
)


def now_ms() -> int:
    return int(time.time() * 1000)


class StartClock:
    """Run start times from the clock, each strictly after the last one this store gave, so runs
    started one after another within a millisecond keep their order in `child_runs`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(now_ms(), self._last + 1)
            return self._last


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlStore:
    """Persistence for the tracking client; knows SQL, not the client's conveniences."""

    def __init__(self, uri: str | None = None, *, upgrade: bool = False) -> None:
        self.uri = resolve_store_uri(uri)
        self._db: Dialect = dialect_for_uri(self.uri)
        self._start_clock = StartClock()
        self.sink_writers = self._db.sink_writers
        self._closed = False
        # Parents already seen to exist (only `sweeps gc` removes runs): a sweep's trials skip the check.
        self._known_parents: set[str] = set()
        # SQLite has one writer at a time; a thread that finds the lock taken sleeps in SQLite's
        # busy handler (1 ms, 2 ms, 5 ms, ...). Threads of this process queue here instead and
        # start the moment the previous transaction commits.
        self._write_lock = threading.RLock() if self._db.single_writer else None
        # One writer at a time: concurrent point batches share a transaction (a server's requests).
        self._group_commit = GroupCommit(self._write_point_batches) if self._write_lock is not None else None
        self.engine: Engine = make_engine(self.uri)
        try:
            with translated(mask_password(self.uri)):
                migrate.ensure_schema(self.engine, upgrade_old=upgrade)
        except StoreError as exc:
            self.engine.dispose()
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            path = sqlite_path(self.uri)
            if path is not None:
                problem = path_problem(path)
                raise StoreUnavailable(
                    f"cannot open the store {self.uri}: "
                    + (problem or f"{reason(cause)} (is {path} a Sweeps store, i.e. a SQLite file it made?)")
                ) from cause
            raise StoreUnavailable(
                f"cannot open the store {mask_password(self.uri)}: {reason(cause)}; "
                "check that the database server is running and the URI's host, port, user and password"
            ) from cause
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SqlStore({mask_password(self.uri)!r})"

    @property
    def dialect(self) -> str:
        """The database's name: ``sqlite`` or ``postgresql``."""
        return self._db.name

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {mask_password(self.uri)} is closed; open a new client")

    def _write(self, work: Callable[[Connection], T], retry_for_s: float = RETRY_FOR_S) -> T:
        """One write transaction (retried on transient errors); see `_write_lock`."""
        self._check_open()
        if self._write_lock is None:
            return with_retries(self.engine, work, retry_for_s=retry_for_s)
        with self._write_lock:
            return with_retries(self.engine, work, retry_for_s=retry_for_s)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction; database errors leave it as tracking errors."""
        self._check_open()
        with read_connection(self.engine) as conn:
            yield conn

    def close(self) -> None:
        self._closed = True
        self.engine.dispose()

    def check_writable(self) -> None:
        """Raise `StoreError` now if the store cannot be written (a read-only file, folder or replica).

        A sweep calls it before it starts Ray, so a store it could never write to costs seconds, not a cluster.
        """
        try:
            self._write(lambda conn: conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num"))
        except StoreError as exc:
            path = sqlite_path(self.uri)
            problem = path_problem(path) if path is not None else None
            raise StoreError(
                f"cannot write to the store {mask_password(self.uri)}: "
                + (problem or f"{reason(exc.__cause__ or exc)} (a sweep writes its runs there)")
            ) from exc

    # -- experiments -------------------------------------------------------------------

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.name == name)).first()
        return _experiment(row) if row else None

    def get_experiment(self, experiment_id: int) -> Experiment:
        with self._read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.experiment_id == experiment_id)).first()
        if row is None:
            raise ExperimentNotFound(f"no experiment with id {experiment_id}")
        return _experiment(row)

    def list_experiments(self) -> list[Experiment]:
        with self._read() as conn:
            rows = conn.execute(select(t.experiments).order_by(t.experiments.c.experiment_id))
            return [_experiment(r) for r in rows]

    def get_or_create_experiment(self, name: str, artifact_root: str) -> Experiment:
        existing = self.get_experiment_by_name(name)
        if existing is not None:
            return existing

        def create(conn: Connection) -> None:
            found = conn.execute(select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)).first()
            if found:
                return
            new_id = conn.execute(
                self._db.insert_ignore(t.experiments)
                .values(name=name, artifact_location="", created_at=now_ms())
                .returning(t.experiments.c.experiment_id)
            ).scalar_one_or_none()
            if new_id is None:
                return  # another process created it meanwhile
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == new_id)
                .values(artifact_location=f"{artifact_root}/{new_id}")
            )

        self._write(create)
        created = self.get_experiment_by_name(name)
        assert created is not None
        return created

    # -- runs ----------------------------------------------------------------------------

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
        if experiment.deleted:
            raise LifecycleError(
                f"experiment {experiment.name!r} is deleted; restore it first "
                f"(client.restore_experiment({experiment.name!r})) or use another experiment"
            )
        run_id = run_id or uuid.uuid4().hex
        start = self._start_clock.next()
        row = {
            "run_id": run_id,
            "experiment_id": experiment.experiment_id,
            "name": name or f"run-{run_id[:8]}",
            "status": RunStatus.RUNNING.value,
            "start_time": start,
            "end_time": None,
            "parent_run_id": parent_run_id,
            "artifact_uri": f"{experiment.artifact_location}/{run_id}/artifacts",
            "error": None,
            "user": user,
        }

        db = self._db

        def create(conn: Connection) -> None:
            if parent_run_id is not None and parent_run_id not in self._known_parents:
                _require_run(conn, parent_run_id)
            # Straight to the driver: a sweep creates a run per trial, and SQLAlchemy's
            # statement handling costs twice the inserts themselves.
            try:
                _raw(conn, db, _INSERT_RUN, [tuple(row[c] for c in _RUN_COLUMNS)])
            except database_errors() as exc:
                if not is_integrity_error(exc):
                    raise
                raise RunExists(f"a run with id {run_id!r} already exists; pass another run_id or none") from exc
            _raw(conn, db, _INSERT_TAG, [(run_id, k, v) for k, v in tags.items()])
            _raw(conn, db, _INSERT_PARAM, [(run_id, k, v) for k, v in (params or {}).items()])

        self._write(create)
        if parent_run_id is not None:
            self._remember_parent(parent_run_id)
        # Everything the run holds was just written in one transaction: build the record
        # from it rather than reading it back (four queries per run on the sweep's hot path).
        return Run(
            run_id=run_id,
            experiment_id=experiment.experiment_id,
            name=row["name"],
            status=RunStatus.RUNNING,
            start_time=start,
            end_time=None,
            parent_run_id=parent_run_id,
            artifact_uri=row["artifact_uri"],
            error=None,
            user=user,
            params=dict(params or {}),
            tags=dict(tags),
        )

    def _remember_parent(self, run_id: str) -> None:
        if len(self._known_parents) >= MAX_KNOWN_PARENTS:
            self._known_parents.clear()
        self._known_parents.add(run_id)

    def get_run(self, run_id: str) -> Run:
        runs = self.get_runs([run_id])
        if not runs:
            raise RunNotFound(f"no run with id {run_id!r}")
        return runs[0]

    @paused_gc()
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs with these ids, in the given order (unknown ids are skipped)."""
        with self._read() as conn:
            return _get_runs(conn, run_ids)

    @paused_gc()
    def child_runs(self, parent_run_id: str) -> list[Run]:
        """Children in start order; one query per table (children picked by a subquery, not
        chunks of ids), so ranking a 1,000-trial sweep stays well under half a second."""
        runs = t.runs.c
        shown = and_(runs.parent_run_id == parent_run_id, runs.deleted_at.is_(None))  # deleted ones are hidden
        children = select(runs.run_id).where(shown).scalar_subquery()
        with self._read() as conn:
            rows = conn.execute(select(t.runs).where(shown).order_by(runs.start_time, runs.run_id)).all()
            params = _pairs(conn, t.params, children)
            tags = _pairs(conn, t.tags, children)
            summaries = _summaries(conn, children)
        return [_run(r, params.get(r.run_id, {}), tags.get(r.run_id, {}), summaries.get(r.run_id, {})) for r in rows]

    def run_status(self, run_id: str) -> RunStatus:
        """The status of a run that may take writes: `RunDeleted` for a deleted one (same query)."""
        with self._read() as conn:
            return RunStatus(_require_run(conn, run_id, writes=True))

    def end_run(self, run_id: str, status: RunStatus, error: str | None = None) -> None:
        def end(conn: Connection) -> None:
            _require_run(conn, run_id)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(status=status.value, end_time=_end_time(now_ms()), error=error)
            )

        self._write(end)

    def end_runs(self, ends: Sequence[RunEnd], batch: PointBatch = ()) -> None:
        """Store ``batch`` and the final status of several runs in one transaction.

        `ends` holds (run id, status, error). All or nothing: an unknown run id raises
        `RunNotFound` and nothing is written.
        """
        if not ends:
            self.write_metric_points(batch)
            return
        ids = list(dict.fromkeys(run_id for run_id, _, _ in ends))
        db = self._db

        def end(conn: Connection) -> None:
            known: set[str] = set()
            for part in chunks(ids):
                known.update(r[0] for r in _raw_query(conn, db, _select_run_ids(len(part)), tuple(part)))
            missing = [i for i in ids if i not in known]
            if missing:
                raise RunNotFound(f"no run with id {missing[0]!r}")
            write_points(conn, batch, db)
            stamp = now_ms()
            rows = [(RunStatus(status).value, stamp, stamp, error, run_id) for run_id, status, error in ends]
            _raw(conn, db, _END_RUN, rows)

        self._write(end)

    def set_run_status(self, run_id: str, status: RunStatus) -> None:
        """Change the status without touching end time (e.g. a resumed sweep back to RUNNING)."""

        def change(conn: Connection) -> None:
            _require_run(conn, run_id)
            end = None if status is RunStatus.RUNNING else _end_time(now_ms())
            conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(status=status.value, end_time=end))

        self._write(change)

    # -- params and tags -----------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Params are immutable: the same value again is a no-op, a different one an error."""
        if not params:
            return

        def log(conn: Connection) -> None:
            _require_active(conn, run_id)
            existing = _pairs(conn, t.params, [run_id]).get(run_id, {})
            for key, value in params.items():
                if key in existing and existing[key] != value:
                    raise ParamConflict(
                        f"param {key!r} of run {run_id} is already {existing[key]!r}; "
                        f"cannot change it to {value!r} (params are immutable)"
                    )
            _insert_pairs(conn, t.params, run_id, {k: v for k, v in params.items() if k not in existing})

        self._write(log)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        if not tags:
            return

        def set_(conn: Connection) -> None:
            _require_run(conn, run_id, writes=True)
            conn.execute(t.tags.delete().where(and_(t.tags.c.run_id == run_id, t.tags.c.key.in_(list(tags)))))
            _insert_pairs(conn, t.tags, run_id, tags)

        self._write(set_)

    def delete_tag(self, run_id: str, key: str) -> None:
        def remove(conn: Connection) -> None:
            _require_run(conn, run_id, writes=True)
            conn.execute(t.tags.delete().where(and_(t.tags.c.run_id == run_id, t.tags.c.key == key)))

        self._write(remove)

    # -- lifecycle: soft deletion and renaming (rules in tracking.store.lifecycle_sql) ----------

    def delete_run(self, run_id: str) -> list[str]:
        return self._write(lambda conn: lifecycle_sql.delete_run(conn, run_id, now_ms()))

    def restore_run(self, run_id: str) -> list[str]:
        return self._write(lambda conn: lifecycle_sql.restore_run(conn, run_id))

    def delete_experiment(self, experiment_id: int) -> int:
        return self._write(lambda conn: lifecycle_sql.delete_experiment(conn, experiment_id, now_ms()))

    def restore_experiment(self, experiment_id: int) -> int:
        return self._write(lambda conn: lifecycle_sql.restore_experiment(conn, experiment_id))

    def set_run_name(self, run_id: str, name: str) -> None:
        self._write(lambda conn: lifecycle_sql.set_run_name(conn, run_id, name))

    def purge_deleted(self, deleted_before_ms: int, **batches: int) -> lifecycle_sql.Purge:
        """`sweeps gc`: remove runs deleted at or before ``deleted_before_ms`` with their params,
        tags, metrics and artifacts, in bounded transactions (SQL stores only; see `lifecycle_sql.purge`)."""
        self._check_open()
        self._known_parents.clear()  # a purged parent must be checked again
        return lifecycle_sql.purge(self._write, deleted_before_ms, lifecycle_sql.remove_run_artifacts, **batches)

    # -- metrics -------------------------------------------------------------------------

    def write_metric_points(self, batch: PointBatch) -> None:
        """One transaction for the whole batch (loose points and point blocks); safe to retry."""
        if not batch:
            return
        if self._group_commit is not None:
            self._group_commit.submit(batch)
            return
        db = self._db
        self._write(lambda conn: write_points(conn, batch, db), POINTS_RETRY_FOR_S)

    def _write_point_batches(self, batches: list[PointBatch]) -> None:
        """Several batches in one transaction, in order: the same as writing them one by one."""
        db = self._db
        joined = [item for batch in batches for item in batch]
        self._write(lambda conn: write_points(conn, joined, db), POINTS_RETRY_FOR_S)

    @paused_gc()
    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[str, dict[str, list[Metric]]]:
        """Histories of several runs and keys at once: ``{run_id: {key: [Metric...]}}``."""
        m, s = t.metrics.c, t.metric_summaries.c
        out: dict[str, dict[str, list[Metric]]] = {}
        with self._read() as conn:
            for part in chunks(list(run_ids)):
                rows = conn.execute(
                    select(s.run_id, s.key, m.value, m.step, m.timestamp)
                    .join_from(t.metric_summaries, t.metrics, m.series_id == s.series_id)
                    .where(and_(s.run_id.in_(part), s.key.in_(list(keys))))
                    .order_by(s.run_id, s.key, m.step)
                )
                for r in rows:
                    out.setdefault(r.run_id, {}).setdefault(r.key, []).append(
                        Metric(r.key, _value(r.value), r.step, r.timestamp)
                    )
        return out

    @paused_gc()
    def runs_with_tag(self, key: str, value: str | None = None) -> list[Run]:
        """Runs carrying tag ``key`` (equal to ``value`` when given), newest first."""
        tags = t.tags.c
        cond = tags.key == key if value is None else and_(tags.key == key, tags.value == value)
        with self._read() as conn:
            ids = (
                conn.execute(
                    select(t.runs.c.run_id)
                    .join(t.tags, t.tags.c.run_id == t.runs.c.run_id)
                    .where(cond, t.runs.c.deleted_at.is_(None))
                    .order_by(t.runs.c.start_time.desc(), t.runs.c.run_id)
                )
                .scalars()
                .all()
            )
            return _get_runs(conn, list(ids))

    def search_runs(
        self,
        experiment_ids: Sequence[int],
        filter_text: str | None,
        order_by: Sequence[str],
        max_results: int,
        parent_run_id: str | None = None,
        lifecycle: str = "active",
    ) -> list[Run]:
        """Runs matching the filter, ordered; the filter is compiled to bound SQL, never spliced."""
        stmt = select_run_ids(
            experiment_ids=experiment_ids,
            filter_text=filter_text,
            order_by=order_by,
            max_results=max_results,
            parent_run_id=parent_run_id,
            lifecycle=lifecycle,
        )
        with self._read() as conn:
            return _get_runs(conn, list(conn.execute(stmt).scalars()))

    def reserve_steps(self, run_id: str, wanted: Mapping[str, tuple[int, int]]) -> dict[str, int]:
        return self._write(lambda conn: step_blocks_sql.reserve(conn, run_id, wanted))

    def release_steps(self, run_id: str, unused: Mapping[str, tuple[int, int]]) -> None:
        self._write(lambda conn: step_blocks_sql.release(conn, run_id, unused))

    def next_steps(self, run_id: str, keys: Iterable[str]) -> dict[str, int]:
        """The step after the last stored one for each key (0 for a new key)."""
        s = t.metric_summaries.c
        with self._read() as conn:
            rows = conn.execute(select(s.key, s.last_step).where(and_(s.run_id == run_id, s.key.in_(list(keys))))).all()
        last = {r.key: r.last_step for r in rows}
        return {k: last[k] + 1 if k in last else 0 for k in keys}

    def count_runs(self, experiment_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(t.runs).where(t.runs.c.deleted_at.is_(None))
        if experiment_id is not None:
            stmt = stmt.where(t.runs.c.experiment_id == experiment_id)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- sweep leases (rules in tracking.store.lease_sql) -----------------------------------

    def acquire_lease(self, sweep_run_id: str, owner: str, host: str, pid: int, ttl_s: float) -> Lease:
        db = self._db
        return self._write(lambda conn: lease_sql.acquire(conn, db, sweep_run_id, owner, host, pid, ttl_s))

    def renew_lease(self, sweep_run_id: str, owner: str, ttl_s: float) -> Lease:
        return self._write(lambda conn: lease_sql.renew(conn, sweep_run_id, owner, ttl_s))

    def release_lease(self, sweep_run_id: str, owner: str) -> None:
        self._write(lambda conn: lease_sql.release(conn, sweep_run_id, owner))

    def get_lease(self, sweep_run_id: str) -> Lease | None:
        with self._read() as conn:
            return lease_sql.get(conn, sweep_run_id)

    # Added by the registry side of issue #11 (part D): the registry's tables live in this
    # store's database and share its engine, retries and writer queue.
    def artifacts(self, run: Run) -> ArtifactStore:
        """The folder at the run's artifact URI: clients of a SQL store reach the artifact root themselves."""
        return ArtifactStore(run.artifact_uri)

    def registry_store(self) -> SqlRegistryStore:
        """The model registry's store on this database (see `tracking.registry.store`)."""
        # Imported here: the registry's records pull in tracking.models (~75 ms) that a store
        # used only for runs and metrics never needs. Not a cycle: the registry imports no store.
        from tracking.store.registry_sql import SqlRegistryStore

        self._check_open()
        return SqlRegistryStore(self.engine, self._db, self._write, mask_password(self.uri))

    def auth_store(self) -> SqlAuth:
        """A server's users, tokens, grants and protected aliases on this database (`tracking.auth`)."""
        from tracking.auth.sql_auth import SqlAuth  # argon2 only where auth is used

        self._check_open()
        return SqlAuth(self.engine, self._write)


# -- row helpers -------------------------------------------------------------------------


def _get_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    found: dict[str, Run] = {}
    for part in chunks(list(run_ids)):
        rows = conn.execute(select(t.runs).where(t.runs.c.run_id.in_(part))).all()
        params = _pairs(conn, t.params, part)
        tags = _pairs(conn, t.tags, part)
        summaries = _summaries(conn, part)
        for r in rows:
            found[r.run_id] = _run(r, params.get(r.run_id, {}), tags.get(r.run_id, {}), summaries.get(r.run_id, {}))
    return [found[i] for i in run_ids if i in found]


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _experiment(row) -> Experiment:  # type: ignore[no-untyped-def]
    return Experiment(row.experiment_id, row.name, row.artifact_location, row.created_at, row.deleted_at)


def _end_time(stamp: int) -> ColumnElement[int]:
    """``stamp``, or the run's start time if that is later (as `_END_RUN` does)."""
    return case((t.runs.c.start_time > stamp, t.runs.c.start_time), else_=literal(stamp))


def _run(row, params: dict, tags: dict, summaries: dict) -> Run:  # type: ignore[no-untyped-def]
    return Run(
        run_id=row.run_id,
        experiment_id=row.experiment_id,
        name=row.name,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        parent_run_id=row.parent_run_id,
        artifact_uri=row.artifact_uri,
        error=row.error,
        user=row.user,
        params=params,
        tags=tags,
        metrics=summaries,
        deleted_at=row.deleted_at,
    )


# Both read every row at once and unpack it: iterating a result fetches row by row, which
# was most of the time of reading a 20,000-trial sweep.


def _pairs(conn: Connection, table, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, str]] = {}
    query = select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(run_ids))
    for run_id, key, value in conn.execute(query).all():
        out.setdefault(run_id, {})[key] = value
    return out


def _summaries(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, MetricSummary]]:
    m = t.metric_summaries.c
    query = select(
        m.run_id, m.key, m.last_value, m.last_step, m.last_timestamp, m.min_value, m.min_step, m.max_value, m.max_step
    ).where(m.run_id.in_(run_ids))
    out: dict[str, dict[str, MetricSummary]] = {}
    for run_id, key, last, last_step, last_ts, low, low_step, high, high_step in conn.execute(query).all():
        out.setdefault(run_id, {})[key] = MetricSummary(
            key=key,
            last=_value(last),
            last_step=last_step,
            last_timestamp=last_ts,
            min=_value(low),
            min_step=low_step,
            max=_value(high),
            max_step=high_step,
        )
    return out


def _insert_pairs(conn: Connection, table, run_id: str, pairs: Mapping[str, str]) -> None:  # type: ignore[no-untyped-def]
    if pairs:
        conn.execute(insert(table), [{"run_id": run_id, "key": k, "value": v} for k, v in pairs.items()])


def _select_run_ids(n: int) -> str:
    return f"SELECT run_id FROM runs WHERE run_id IN ({', '.join('?' * n)})"


def _raw(conn: Connection, db: Dialect, sql: str, rows: Sequence[tuple]) -> None:
    """executemany on the driver's cursor, inside the connection's transaction."""
    if not rows:
        return
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.executemany(db.driver_sql(sql), rows)
    finally:
        cur.close()


def _raw_query(conn: Connection, db: Dialect, sql: str, params: tuple) -> list[tuple]:
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(db.driver_sql(sql), params)
        return list(cur.fetchall())
    finally:
        cur.close()


def _require_run(conn: Connection, run_id: str, *, writes: bool = False) -> str:
    """The run's status; ``writes``: `RunDeleted` for a soft-deleted run (read in the same query)."""
    runs = t.runs.c
    row = conn.execute(select(runs.status, runs.deleted_at).where(runs.run_id == run_id)).first()
    if row is None:
        raise RunNotFound(f"no run with id {run_id!r}")
    if writes and row.deleted_at is not None:
        raise RunDeleted.of(run_id)
    return row.status


def _require_active(conn: Connection, run_id: str) -> None:
    status = _require_run(conn, run_id, writes=True)
    if status != RunStatus.RUNNING.value:
        raise RunFinished(f"run {run_id} is {status}; a finished run takes no more params or metrics")


def upgrade_schema(uri: str) -> None:
    """Apply pending migrations to the database at a resolved ``uri`` (``sweeps db upgrade``)."""
    engine = make_engine(uri)
    try:
        with translated(mask_password(uri)):
            migrate.upgrade(engine)
    finally:
        engine.dispose()
