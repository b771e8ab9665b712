"""Soft deletion, restore and renaming of runs and experiments in SQL, and the purge behind `sweeps gc`.

A deletion stamps ``deleted_at`` on the run and every run below it (or on the experiment and
all its active runs) with one timestamp; a restore clears exactly the runs carrying that
stamp, so a child deleted on its own before its parent stays deleted when the parent returns.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, Row, and_, delete, func, select, update

from tracking.errors import ExperimentNotFound, LifecycleError, RunInUse, RunNotFound
from tracking.store import schema as t

T = TypeVar("T")
Write = Callable[[Callable[[Connection], T]], T]

_CHUNK = 500  # ids per IN (...): well below every bind-parameter limit
RUNS_PER_BATCH = 100  # runs purged per round of `purge`
POINTS_PER_TRANSACTION = 50_000  # metric points deleted per transaction: bounded locks and undo logs


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _when(stamp: int) -> str:
    return dt.datetime.fromtimestamp(stamp / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_row(conn: Connection, run_id: str) -> Row:
    runs = t.runs.c
    row = conn.execute(select(runs.run_id, runs.experiment_id, runs.deleted_at).where(runs.run_id == run_id)).first()
    if row is None:
        raise RunNotFound(f"no run with id {run_id!r}")
    return row


def _experiment_row(conn: Connection, experiment_id: int) -> Row:
    e = t.experiments.c
    row = conn.execute(select(e.experiment_id, e.name, e.deleted_at).where(e.experiment_id == experiment_id)).first()
    if row is None:
        raise ExperimentNotFound(f"no experiment with id {experiment_id}")
    return row


def family(conn: Connection, run_id: str) -> list[str]:
    """The run and every run below it (children, their children, ...), deleted or not; parents first."""
    runs = t.runs.c
    found, frontier, seen = [run_id], [run_id], {run_id}
    while frontier:
        below: list[str] = []
        for part in _chunks(frontier):
            for (child,) in conn.execute(select(runs.run_id).where(runs.parent_run_id.in_(list(part)))):
                if child not in seen:  # a cycle cannot be made through the API, but never loop on one
                    seen.add(child)
                    below.append(child)
        found.extend(below)
        frontier = below
    return found


def _in_use_message(what: str, versions: Sequence[Row]) -> str:
    shown = ", ".join(f"model {v.name!r} version {v.version} (run {v.run_id})" for v in versions[:5])
    more = f" and {len(versions) - 5} more" if len(versions) > 5 else ""
    return (
        f"cannot delete {what}: it holds the run of registered {shown}{more}; "
        "delete those versions first (the registry keeps a version's run and its files)"
    )


def _versions_of_runs(conn: Connection, run_ids: Sequence[str]) -> list[Row]:
    v = t.model_versions.c
    found: list[Row] = []
    for part in _chunks(list(run_ids)):
        found.extend(
            conn.execute(
                select(v.name, v.version, v.run_id).where(v.run_id.in_(list(part))).order_by(v.name, v.version)
            ).all()
        )
    return found


def _stamp(now: int, latest: int | None) -> int:
    # Strictly after every stamp already in scope: a restore then clears only what this deletion hid.
    return now if latest is None else max(now, latest + 1)


def delete_run(conn: Connection, run_id: str, now: int) -> list[str]:
    """Hide the run and every run below it; the ids this deletion hid (the run first)."""
    row = _run_row(conn, run_id)
    if row.deleted_at is not None:
        raise LifecycleError(
            f"run {run_id} is already deleted (since {_when(row.deleted_at)}); "
            f"`sweeps runs restore {run_id}` brings it back, `sweeps gc` purges it"
        )
    ids = family(conn, run_id)
    used = _versions_of_runs(conn, ids)
    if used:
        what = f"run {run_id}" + (f" (a parent of {len(ids) - 1} run(s), deleted with it)" if len(ids) > 1 else "")
        raise RunInUse(_in_use_message(what, used))
    runs = t.runs.c
    latest = None
    for part in _chunks(ids):
        top = conn.execute(select(func.max(runs.deleted_at)).where(runs.run_id.in_(list(part)))).scalar()
        latest = top if latest is None or (top is not None and top > latest) else latest
    stamp = _stamp(now, latest)
    hidden: list[str] = []
    for part in _chunks(ids):
        active = [
            r
            for (r,) in conn.execute(select(runs.run_id).where(runs.run_id.in_(list(part)), runs.deleted_at.is_(None)))
        ]
        if active:
            conn.execute(update(t.runs).where(runs.run_id.in_(active)).values(deleted_at=stamp))
            hidden.extend(active)
    order = {r: i for i, r in enumerate(ids)}
    return sorted(hidden, key=order.__getitem__)


def restore_run(conn: Connection, run_id: str) -> list[str]:
    """Show the run again with the runs its deletion hid; the ids restored (the run first)."""
    row = _run_row(conn, run_id)
    if row.deleted_at is None:
        raise LifecycleError(f"run {run_id} is not deleted; there is nothing to restore")
    experiment = _experiment_row(conn, row.experiment_id)
    if experiment.deleted_at is not None:
        raise LifecycleError(
            f"run {run_id} is in the deleted experiment {experiment.name!r}; "
            f"restore the experiment (client.restore_experiment({experiment.name!r})), which restores its runs"
        )
    ids = family(conn, run_id)
    runs = t.runs.c
    restored: list[str] = []
    for part in _chunks(ids):
        same = [
            r
            for (r,) in conn.execute(
                select(runs.run_id).where(runs.run_id.in_(list(part)), runs.deleted_at == row.deleted_at)
            )
        ]
        if same:
            conn.execute(update(t.runs).where(runs.run_id.in_(same)).values(deleted_at=None))
            restored.extend(same)
    order = {r: i for i, r in enumerate(ids)}
    return sorted(restored, key=order.__getitem__)


def delete_experiment(conn: Connection, experiment_id: int, now: int) -> int:
    """Hide the experiment and all its active runs; how many runs it hid."""
    experiment = _experiment_row(conn, experiment_id)
    if experiment.deleted_at is not None:
        raise LifecycleError(
            f"experiment {experiment.name!r} is already deleted (since {_when(experiment.deleted_at)}); "
            f"client.restore_experiment({experiment.name!r}) brings it back, `sweeps gc` purges it"
        )
    runs, v = t.runs.c, t.model_versions.c
    used = conn.execute(
        select(v.name, v.version, v.run_id)
        .join_from(t.model_versions, t.runs, runs.run_id == v.run_id)
        .where(runs.experiment_id == experiment_id)
        .order_by(v.name, v.version)
    ).all()
    if used:
        raise RunInUse(_in_use_message(f"experiment {experiment.name!r}", used))
    latest = conn.execute(select(func.max(runs.deleted_at)).where(runs.experiment_id == experiment_id)).scalar()
    stamp = _stamp(now, latest)
    hidden = conn.execute(
        update(t.runs).where(runs.experiment_id == experiment_id, runs.deleted_at.is_(None)).values(deleted_at=stamp)
    ).rowcount
    e = t.experiments.c
    conn.execute(update(t.experiments).where(e.experiment_id == experiment_id).values(deleted_at=stamp))
    return int(hidden)


def restore_experiment(conn: Connection, experiment_id: int) -> int:
    """Show the experiment again with the runs its deletion hid; how many runs it restored."""
    experiment = _experiment_row(conn, experiment_id)
    if experiment.deleted_at is None:
        raise LifecycleError(f"experiment {experiment.name!r} is not deleted; there is nothing to restore")
    runs, e = t.runs.c, t.experiments.c
    restored = conn.execute(
        update(t.runs)
        .where(runs.experiment_id == experiment_id, runs.deleted_at == experiment.deleted_at)
        .values(deleted_at=None)
    ).rowcount
    conn.execute(update(t.experiments).where(e.experiment_id == experiment_id).values(deleted_at=None))
    return int(restored)


def set_run_name(conn: Connection, run_id: str, name: str) -> None:
    runs = t.runs.c
    if conn.execute(update(t.runs).where(runs.run_id == run_id).values(name=name)).rowcount == 0:
        raise RunNotFound(f"no run with id {run_id!r}")


# -- purge (sweeps gc) ----------------------------------------------------------------------------


@dataclass
class PurgedRun:
    run_id: str
    name: str
    experiment_id: int
    deleted_at: int


@dataclass
class Purge:
    """What a purge removed (and kept: deleted runs that back a registered model version)."""

    runs: list[PurgedRun] = field(default_factory=list)
    params: int = 0
    tags: int = 0
    series: int = 0
    points: int = 0
    artifact_folders: int = 0
    experiments: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # one line per kept run: why


def _deleted_batch(conn: Connection, cutoff: int, after: str, limit: int) -> list[Row]:
    runs = t.runs.c
    return conn.execute(
        select(runs.run_id, runs.name, runs.experiment_id, runs.deleted_at, runs.artifact_uri)
        .where(runs.deleted_at.is_not(None), runs.deleted_at <= cutoff, runs.run_id > after)
        .order_by(runs.run_id)
        .limit(limit)
    ).all()


def _series_of(conn: Connection, run_ids: Sequence[str]) -> list[int]:
    s = t.metric_summaries.c
    return [
        int(i) for (i,) in conn.execute(select(s.series_id).where(s.run_id.in_(list(run_ids))).order_by(s.series_id))
    ]


def _delete_points_without_commit(conn: Connection, series_id: int, budget: int) -> int:
    """Delete at most ``budget`` of a series' points (its lowest steps); how many went."""
    m = t.metrics.c
    bound = conn.execute(
        select(m.step).where(m.series_id == series_id).order_by(m.step).offset(budget - 1).limit(1)
    ).scalar_one_or_none()
    cond = m.series_id == series_id if bound is None else and_(m.series_id == series_id, m.step <= bound)
    return int(conn.execute(delete(t.metrics).where(cond)).rowcount)


def _purge_points(write: Write, series: list[int], budget: int) -> int:
    """Every point of ``series``, at most ``budget`` per transaction; never reads a point."""
    total, pending = 0, list(series)
    while pending:

        def work(conn: Connection) -> tuple[int, int]:
            # Pure: a retried transaction starts again from the same pending list.
            left, done, emptied = budget, 0, 0
            for series_id in pending:
                gone = _delete_points_without_commit(conn, series_id, left)
                done, left = done + gone, left - gone
                if left <= 0:
                    break  # this series may hold more: the next transaction continues it
                emptied += 1
            return done, emptied

        done, emptied = write(work)
        total += done
        del pending[:emptied]
    return total


def _delete_rows(conn: Connection, run_ids: list[str]) -> tuple[int, int, int]:
    """The runs' summaries, params, tags, leases and rows; (params, tags, series) removed."""
    counts = [0, 0, 0]
    for part in _chunks(run_ids):
        ids = list(part)
        counts[0] += conn.execute(delete(t.params).where(t.params.c.run_id.in_(ids))).rowcount
        counts[1] += conn.execute(delete(t.tags).where(t.tags.c.run_id.in_(ids))).rowcount
        counts[2] += conn.execute(delete(t.metric_summaries).where(t.metric_summaries.c.run_id.in_(ids))).rowcount
        conn.execute(delete(t.sweep_leases).where(t.sweep_leases.c.sweep_run_id.in_(ids)))
        conn.execute(delete(t.step_blocks).where(t.step_blocks.c.run_id.in_(ids)))
        # A child restored on its own outlives its purged parent: it becomes a top-level run.
        conn.execute(update(t.runs).where(t.runs.c.parent_run_id.in_(ids)).values(parent_run_id=None))
        conn.execute(delete(t.runs).where(t.runs.c.run_id.in_(ids)))
    return counts[0], counts[1], counts[2]


def _still_deleted(conn: Connection, run_ids: Sequence[str], cutoff: int) -> list[str]:
    runs = t.runs.c
    found: set[str] = set()
    for part in _chunks(list(run_ids)):
        found.update(
            r
            for (r,) in conn.execute(
                select(runs.run_id).where(
                    runs.run_id.in_(list(part)), runs.deleted_at.is_not(None), runs.deleted_at <= cutoff
                )
            )
        )
    return [r for r in run_ids if r in found]


def _purge_experiments(write: Write, cutoff: int) -> list[tuple[int, str, str]]:
    """Deleted experiments past the cutoff that hold no run any more: (id, name, artifact location)."""
    e, runs, g = t.experiments.c, t.runs.c, t.auth_grants.c

    def work(conn: Connection) -> list[tuple[int, str, str]]:
        empty = conn.execute(
            select(e.experiment_id, e.name, e.artifact_location).where(
                e.deleted_at.is_not(None),
                e.deleted_at <= cutoff,
                ~select(runs.run_id).where(runs.experiment_id == e.experiment_id).exists(),
            )
        ).all()
        ids = [int(r.experiment_id) for r in empty]
        if ids:
            # Grants name the experiment by id, and an id may be handed out again once its row is gone.
            conn.execute(delete(t.auth_grants).where(g.scope == "experiment", g.target.in_([str(i) for i in ids])))
            conn.execute(delete(t.experiments).where(e.experiment_id.in_(ids)))
        return [(int(r.experiment_id), str(r.name), str(r.artifact_location)) for r in empty]

    return write(work)


def purge(
    write: Write,
    cutoff: int,
    remove_artifacts: Callable[[str, str], bool],
    *,
    runs_per_batch: int = RUNS_PER_BATCH,
    points_per_transaction: int = POINTS_PER_TRANSACTION,
) -> Purge:
    """Remove every run deleted at or before ``cutoff`` (epoch ms) with everything it holds, in batches.

    Per batch of runs: their artifact folders (``remove_artifacts(artifact_uri, run_id)``), then
    their points (bounded transactions), then their other rows in one transaction; a purge cut
    short leaves runs still marked deleted, and the next one finishes them. Deleted runs that back
    a registered model version are kept. Then deleted experiments left empty go too.
    """
    report = Purge()
    after = ""
    while True:
        batch = write(lambda conn, after=after: _deleted_batch(conn, cutoff, after, runs_per_batch))
        if not batch:
            break
        after = batch[-1].run_id
        ids = [r.run_id for r in batch]
        used = write(lambda conn, ids=ids: _versions_of_runs(conn, ids))
        in_use = {v.run_id for v in used}
        report.kept.extend(f"run {v.run_id}: backs model {v.name!r} version {v.version}" for v in used)
        doomed = [r for r in batch if r.run_id not in in_use]
        for r in doomed:
            if remove_artifacts(r.artifact_uri, r.run_id):
                report.artifact_folders += 1
        doomed_ids = [r.run_id for r in doomed]
        series = write(lambda conn, ids=doomed_ids: _series_of(conn, ids)) if doomed_ids else []
        report.points += _purge_points(write, series, points_per_transaction)

        def rows(conn: Connection, ids: list[str] = doomed_ids) -> tuple[list[str], tuple[int, int, int]]:
            gone = _still_deleted(conn, ids, cutoff)  # a run restored meanwhile stays
            return gone, _delete_rows(conn, gone)

        gone, (params, tags, series_count) = write(rows) if doomed_ids else ([], (0, 0, 0))
        kept = set(gone)
        report.runs.extend(
            PurgedRun(r.run_id, r.name, r.experiment_id, r.deleted_at) for r in doomed if r.run_id in kept
        )
        report.params += params
        report.tags += tags
        report.series += series_count
    report.experiments = [name for _, name, _ in _purge_experiments(write, cutoff)]
    return report


def remove_run_artifacts(artifact_uri: str, run_id: str) -> bool:
    """Delete a run's artifact folder (``<experiment>/<run id>`` when laid out so); whether one existed."""
    import shutil

    from tracking.artifacts import LocalFiles, _filesystem

    uri = artifact_uri.rstrip("/")
    # Our layout is <experiment location>/<run id>/artifacts: remove the run's own folder. Any
    # other location only loses its artifacts folder, never something beside it.
    suffix = f"/{run_id}/artifacts"
    target = uri[: -len("/artifacts")] if uri.endswith(suffix) else uri
    fs, path = _filesystem(target)
    if isinstance(fs, LocalFiles):
        if not os.path.lexists(path):
            return False
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
        else:
            shutil.rmtree(path)  # removes links inside, never what they point to
        return True
    if not fs.exists(path):
        return False
    fs.rm(path, recursive=True)  # type: ignore[attr-defined]
    return True
