"""The runs table sorted by a metric: its index-driven pages are the pages `select_run_ids` makes,
runs without the metric (or with NaN) last, at every offset, both directions, with a filter."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tracking
from reports.ui import runs_query
from tracking.store.engine import read_connection
from tracking.store.sql_store import SqlStore

RUNS = 45


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqlStore:
    root: Path = tmp_path_factory.mktemp("runs-order")
    client = tracking.connect(f"sqlite:///{root / 'store.db'}", artifacts=str(root / "artifacts"))
    for i in range(RUNS):
        run = client.start_run(experiment="order", name=f"run-{i:02d}", params={"opt": "adam" if i % 3 else "sgd"})
        if i % 7 == 3:
            pass  # no loss at all
        elif i % 11 == 5:
            run.log_metrics({"loss": math.nan})  # NaN: sorts with the missing ones
        else:
            run.log_metrics({"loss": float(i % 5)})  # ties: the order after the metric decides
        run.end()
    parent = client.start_run(experiment="order", name="parent")
    client.start_run(experiment="order", name="child", parent=parent).end()
    parent.end()
    client.flush()
    found = client._store
    assert isinstance(found, SqlStore)
    return found


def _generic(store: SqlStore, filter_text: str, order: list[str], offset: int, limit: int) -> list[str]:
    experiment = store.get_experiment_by_name("order")
    assert experiment is not None
    ids = runs_query._matching(experiment.experiment_id, filter_text, order, limit, True, None)
    with read_connection(store.engine) as conn:
        return list(conn.execute(ids.offset(offset)).scalars())


@pytest.mark.parametrize(
    "order",
    [["metrics.loss asc"], ["metrics.loss desc"], ["metrics.loss desc", "params.opt asc"], ["metrics.absent asc"]],
)
@pytest.mark.parametrize("filter_text", ["", "params.opt = 'adam'"])
def test_pages_sorted_by_a_metric_match_the_generic_query(store: SqlStore, order: list[str], filter_text: str) -> None:
    experiment = store.get_experiment_by_name("order")
    assert experiment is not None
    seen: list[str] = []
    for offset in (0, 10, 20, 30, 40, 50, 60):
        page = runs_query.runs_page(store, experiment.experiment_id, filter_text, order, offset, 10, top_level=True)
        expected = _generic(store, filter_text, order, offset, 10)
        assert [r.run_id for r in page.runs] == expected
        seen += expected
    assert len(seen) == len(set(seen))  # no run on two pages
    assert len(seen) == runs_query.count_runs(store, experiment.experiment_id, filter_text, top_level=True)
    names = [r.name for r in store.get_runs(seen)]
    assert "child" not in names and ("parent" in names) == (filter_text == "")
