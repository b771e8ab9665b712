"""SQL the UI needs beyond the `Store` protocol: a page of runs at an offset with the total, the
experiments' counts, and the keys an experiment's runs use. Filters compile through `tracking.search`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, asc, desc, distinct, exists, func, not_, select

from tracking import Run
from tracking import sweep_layout as layout
from tracking.search.compiler import compile_order_by
from tracking.search.filter import OrderKey, parse_order_by
from tracking.search.runs_query import select_run_ids
from tracking.store import schema as t
from tracking.store.engine import read_connection
from tracking.store.sql_store import SqlStore

MAX_PAGE = 500
MAX_KEYS = 2_000  # column choices offered per kind


@dataclass(frozen=True, slots=True)
class RunsPage:
    runs: list[Run]
    more: bool  # runs after this page
    children: dict[str, int]  # run id -> number of child runs (runs of this page only)


@dataclass(frozen=True, slots=True)
class ExperimentRow:
    experiment_id: int
    name: str
    runs: int
    sweeps: int
    last_activity: int | None  # ms: the latest start or end of any of its runs


def _live(stmt):  # type: ignore[no-untyped-def]
    # Soft-deleted runs are hidden everywhere (the store's own searches do the same).
    return stmt.where(t.runs.c.deleted_at.is_(None))


def _matching(
    experiment_id: int,
    filter_text: str | None,
    order_by: Sequence[str],
    limit: int,
    top_level: bool,
    parent_run_id: str | None,
):  # type: ignore[no-untyped-def]
    ids = select_run_ids(
        experiment_ids=[experiment_id],
        filter_text=filter_text or None,
        order_by=list(order_by),
        max_results=limit,
        parent_run_id=parent_run_id,
    )
    return ids.where(t.runs.c.parent_run_id.is_(None)) if top_level else ids


def runs_page(
    store: SqlStore,
    experiment_id: int,
    filter_text: str | None,
    order_by: Sequence[str],
    offset: int,
    limit: int,
    *,
    top_level: bool = False,
    parent_run_id: str | None = None,
) -> RunsPage:
    """One page of an experiment's runs; `FilterError` (with its position) for a bad filter or sort.

    The total is a query of its own (`count_runs`): the page must not wait for it.
    """
    limit = max(1, min(limit, MAX_PAGE))
    keys = parse_order_by(list(order_by))
    with read_connection(store.engine) as conn:
        if keys and keys[0].ident.kind == "metrics":
            page_ids = _by_metric(
                conn, keys[0], experiment_id, filter_text, order_by[1:], offset, limit + 1, top_level, parent_run_id
            )
        else:
            ids = _matching(experiment_id, filter_text, order_by, limit + 1, top_level, parent_run_id)
            page_ids = list(conn.execute(ids.offset(max(offset, 0))).scalars())
        more = len(page_ids) > limit
        page_ids = page_ids[:limit]
        children: dict[str, int] = {}
        if page_ids:
            r = t.runs.c
            rows = conn.execute(
                _live(select(r.parent_run_id, func.count()).where(r.parent_run_id.in_(page_ids))).group_by(
                    r.parent_run_id
                )
            ).all()
            children = {row[0]: int(row[1]) for row in rows}
    return RunsPage(store.get_runs(page_ids), more, children)


def _by_metric(
    conn: Connection,
    key: OrderKey,
    experiment_id: int,
    filter_text: str | None,
    rest: Sequence[str],
    offset: int,
    want: int,
    top_level: bool,
    parent_run_id: str | None,
) -> list[str]:
    """The page of a table sorted by a metric first, in `select_run_ids`'s order, read off the
    metric's (key, last_value) index: the runs that have the metric walked in its order until a page
    is found, then those without it (or NaN), which that order puts last either way.

    `select_run_ids` sorts on a subquery per run: all 100,000 runs are visited and sorted before
    the first row comes back (about a second on SQLite; this takes milliseconds).
    """
    sort = t.metric_summaries.alias("sort_key")
    has = and_(sort.c.run_id == t.runs.c.run_id, sort.c.key == key.ident.key, sort.c.last_value.is_not(None))
    then = [*compile_order_by(list(rest)), t.runs.c.start_time.desc(), t.runs.c.run_id]
    ids = _matching(experiment_id, filter_text, rest, want, top_level, parent_run_id).order_by(None)
    having = ids.join_from(t.runs, sort, has)
    by_value = (desc if key.descending else asc)(sort.c.last_value)
    offset = max(offset, 0)
    found = list(conn.execute(having.order_by(by_value, *then).offset(offset)).scalars())
    if len(found) >= want:
        return found
    skip = 0  # into the runs without the metric: none of them is on an earlier page
    if not found and offset:
        counted = select(func.count()).select_from(having.limit(None).subquery())
        skip = max(offset - int(conn.execute(counted).scalar_one()), 0)
    other = t.metric_summaries.alias("no_key")
    lacking = ids.where(
        not_(
            exists().where(
                other.c.run_id == t.runs.c.run_id, other.c.key == key.ident.key, other.c.last_value.is_not(None)
            )
        )
    )
    rows = conn.execute(lacking.order_by(*then).limit(want - len(found)).offset(skip)).scalars()
    return [*found, *rows]


def count_runs(
    store: SqlStore,
    experiment_id: int,
    filter_text: str | None,
    *,
    top_level: bool = False,
    parent_run_id: str | None = None,
) -> int:
    """How many runs the filter matches (for the pager's "of N")."""
    ids = _matching(experiment_id, filter_text, (), 1, top_level, parent_run_id)
    counted = select(func.count()).select_from(ids.order_by(None).limit(None).subquery())
    with read_connection(store.engine) as conn:
        return int(conn.execute(counted).scalar_one())


def experiments(store: SqlStore, readable: frozenset[int] | None) -> list[ExperimentRow]:
    """Every experiment the caller may read, with run and sweep counts and the last activity."""
    e, r, g = t.experiments.c, t.runs.c, t.tags.c
    counts = _live(
        select(r.experiment_id, func.count(), func.max(func.coalesce(r.end_time, r.start_time))).group_by(
            r.experiment_id
        )
    )
    sweeps = _live(
        select(r.experiment_id, func.count())
        .select_from(
            t.runs.join(t.tags, and_(g.run_id == r.run_id, g.key == layout.KIND, g.value == layout.KIND_SWEEP))
        )
        .group_by(r.experiment_id)
    )
    with read_connection(store.engine) as conn:
        rows = conn.execute(select(e.experiment_id, e.name).where(e.deleted_at.is_(None)).order_by(e.name)).all()
        run_counts = {row[0]: (int(row[1]), row[2]) for row in conn.execute(counts).all()}
        sweep_counts = {row[0]: int(row[1]) for row in conn.execute(sweeps).all()}
    out = []
    for experiment_id, name in rows:
        if readable is not None and experiment_id not in readable:
            continue
        n, last = run_counts.get(experiment_id, (0, None))
        out.append(ExperimentRow(experiment_id, name, n, sweep_counts.get(experiment_id, 0), last))
    out.sort(key=lambda x: -(x.last_activity or 0))
    return out


def keys_of(store: SqlStore, experiment_id: int) -> dict[str, list[str]]:
    """The param, metric and tag keys the experiment's runs use (the runs table's column choices)."""
    r = t.runs.c
    in_experiment = _live(select(r.run_id).where(r.experiment_id == experiment_id)).scalar_subquery()
    out: dict[str, list[str]] = {}
    with read_connection(store.engine) as conn:
        for kind, table in (("params", t.params), ("metrics", t.metric_summaries), ("tags", t.tags)):
            stmt = (
                select(distinct(table.c.key))
                .where(table.c.run_id.in_(in_experiment))
                .order_by(table.c.key)
                .limit(MAX_KEYS)
            )
            out[kind] = list(conn.execute(stmt).scalars())
    return out


def sweep_state(store: SqlStore, parent_run_id: str) -> tuple[object, ...]:
    """What changes when a sweep moves on: its trials' count, ends and latest points, the parent's end.

    Two indexed queries; a page's cached data is reused while this stays the same.
    """
    r, s = t.runs.c, t.metric_summaries.c
    children = _live(select(r.run_id).where(r.parent_run_id == parent_run_id)).scalar_subquery()
    with read_connection(store.engine) as conn:
        runs = conn.execute(
            _live(
                select(func.count(), func.max(func.coalesce(r.end_time, 0)), func.max(r.start_time)).where(
                    r.parent_run_id == parent_run_id
                )
            )
        ).one()
        latest = conn.execute(select(func.max(s.last_timestamp)).where(s.run_id.in_(children))).scalar()
        parent = conn.execute(select(r.status, r.end_time).where(r.run_id == parent_run_id)).one()
    return (*tuple(runs), latest, *tuple(parent))


def sweep_parents(store: SqlStore, sweep_id: str, *, prefix: bool = False) -> list[tuple[str, str]]:
    """(parent run id, whole sweep id) of the sweeps with this id (or id prefix), newest first.

    Two tag joins on the parents only: a sweep of 10,000 trials costs what a sweep of ten does.
    """
    kinds, idents = t.tags.alias("kind"), t.tags.alias("ident")
    r, kind, ident = t.runs.c, kinds.c, idents.c
    match = ident.value.startswith(sweep_id, autoescape=True) if prefix else ident.value == sweep_id
    stmt = _live(
        select(r.run_id, ident.value)
        .join_from(
            t.runs, kinds, and_(kind.run_id == r.run_id, kind.key == layout.KIND, kind.value == layout.KIND_SWEEP)
        )
        .join(idents, and_(ident.run_id == r.run_id, ident.key == layout.SWEEP_ID, match))
        .order_by(r.start_time.desc())
        .limit(6)
    )
    with read_connection(store.engine) as conn:
        return [(row[0], row[1]) for row in conn.execute(stmt).all()]


def newest_sweeps(store: SqlStore, limit: int) -> list[str]:
    """The parent run ids of the ``limit`` sweeps started last, newest first (one join on the parents)."""
    r, kind = t.runs.c, t.tags.c
    is_sweep = and_(kind.run_id == r.run_id, kind.key == layout.KIND, kind.value == layout.KIND_SWEEP)
    stmt = _live(select(r.run_id).join_from(t.runs, t.tags, is_sweep).order_by(r.start_time.desc()).limit(limit))
    with read_connection(store.engine) as conn:
        return list(conn.execute(stmt).scalars())
