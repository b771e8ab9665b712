"""The SQL query behind ``search_runs`` (for SQL stores): filter, order and limit runs, ids only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select

from tracking.errors import InvalidParameter
from tracking.search.compiler import compile_filter, compile_order_by
from tracking.store import schema as t
from tracking.store.engine import STATEMENT_TIMEOUT

# PostgreSQL cancels a search past this time (SQLite has no such limit; its filters are bounded
# by `tracking.search.filter.MAX_PREDICATES`); the error names it (`tracking.store.errors`).
SEARCH_TIMEOUT_S = 30.0


def select_run_ids(
    *,
    experiment_ids: Sequence[int] = (),
    filter_text: str | None = None,
    order_by: Sequence[str] = (),
    max_results: int = 1_000,
    parent_run_id: str | None = None,
    lifecycle: str = "active",
) -> Select[tuple[str]]:
    """The query of the matching runs' ids, ordered; the filter is compiled to bound SQL, never spliced.

    Raises `FilterError` for a filter or order-by that does not parse or is too long. On
    PostgreSQL the query runs at most `SEARCH_TIMEOUT_S` seconds.
    """
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameter(f"max_results must be a positive integer, got {max_results!r}")
    runs = t.runs.c
    stmt = select(runs.run_id).where(compile_filter(filter_text))
    if experiment_ids:
        stmt = stmt.where(runs.experiment_id.in_(list(experiment_ids)))
    if parent_run_id is not None:
        stmt = stmt.where(runs.parent_run_id == parent_run_id)
    # Soft-deleted runs are hidden unless asked for (``deleted``: only them; ``all``: both).
    if lifecycle == "active":
        stmt = stmt.where(runs.deleted_at.is_(None))
    elif lifecycle == "deleted":
        stmt = stmt.where(runs.deleted_at.is_not(None))
    elif lifecycle != "all":
        raise InvalidParameter(f"lifecycle must be 'active', 'deleted' or 'all', got {lifecycle!r}")
    # Newest first unless told otherwise; run_id makes the order total, so pages are stable.
    stmt = stmt.order_by(*compile_order_by(list(order_by)), runs.start_time.desc(), runs.run_id).limit(max_results)
    return stmt.execution_options(**{STATEMENT_TIMEOUT: round(SEARCH_TIMEOUT_S * 1000)})
