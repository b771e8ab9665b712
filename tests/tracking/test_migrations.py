"""Schema migrations on real databases: a store of an older schema is upgraded (and taken
back) with every run, point and summary kept."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

import tracking
from tracking.errors import SchemaVersionError
from tracking.migrations.shapes import tables_0001
from tracking.store import migrate
from tracking.store.engine import make_engine

# (run, key) -> [(step, value, timestamp)]; NaN is stored as NULL.
HISTORIES = {
    ("a" * 32, "loss"): [(0, 1.0, 1_000), (1, 0.5, 1_001), (2, math.nan, 1_002), (3, 0.25, 1_003)],
    ("a" * 32, "acc"): [(0, 0.1, 1_000), (5, 0.9, 1_005)],
    ("b" * 32, "loss"): [(0, 2.0, 2_000), (1, 3.0, 2_001)],
    ("b" * 32, "lr"): [(10, math.nan, 2_010)],
}


def _summary_0001(run_id: str, key: str, history: list[tuple[int, float, int]]) -> dict[str, object]:
    numbers = [(v, s) for s, v, _ in history if not math.isnan(v)]
    last_step, last_value, last_ts = max(history)
    low = min(numbers, default=(None, history[0][0]))
    high = max(numbers, default=(None, history[0][0]))
    return {
        "run_id": run_id,
        "key": key,
        "last_value": None if math.isnan(last_value) else last_value,
        "last_step": last_step,
        "last_timestamp": last_ts,
        "min_value": low[0],
        "min_step": low[1],
        "max_value": high[0],
        "max_step": high[1],
    }


def make_0001_store(uri: str, artifact_root: str) -> None:
    """A store as release 0001 left it: its schema, two finished runs and their metrics."""
    engine = make_engine(uri)
    try:
        migrate.upgrade(engine, "0001")
        t = tables_0001().tables
        with engine.begin() as conn:
            conn.execute(
                t["experiments"].insert(),
                {"experiment_id": 1, "name": "old", "artifact_location": artifact_root, "created_at": 1},
            )
            for run_id in sorted({run for run, _ in HISTORIES}):
                conn.execute(
                    t["runs"].insert(),
                    {
                        "run_id": run_id,
                        "experiment_id": 1,
                        "name": f"run-{run_id[0]}",
                        "status": "FINISHED",
                        "start_time": 1,
                        "end_time": 2,
                        "artifact_uri": f"{artifact_root}/{run_id}",
                    },
                )
            conn.execute(
                t["metrics"].insert(),
                [
                    {"run_id": r, "key": k, "step": s, "value": None if math.isnan(v) else v, "timestamp": ts}
                    for (r, k), history in HISTORIES.items()
                    for s, v, ts in history
                ],
            )
            conn.execute(t["metric_summaries"].insert(), [_summary_0001(r, k, h) for (r, k), h in HISTORIES.items()])
    finally:
        engine.dispose()


def rows_0001(uri: str) -> tuple[list[tuple], list[tuple]]:
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            points = conn.exec_driver_sql("SELECT run_id, key, step, value, timestamp FROM metrics").all()
            summaries = conn.exec_driver_sql("SELECT * FROM metric_summaries").all()
        return sorted(map(tuple, points)), sorted(map(tuple, summaries), key=repr)
    finally:
        engine.dispose()


def same_history(got: list[tracking.Metric], want: list[tuple[int, float, int]]) -> bool:
    as_tuples = [(m.step, m.value, m.timestamp) for m in got]
    return len(as_tuples) == len(want) and all(
        g[0] == w[0] and g[2] == w[2] and (g[1] == w[1] or (math.isnan(g[1]) and math.isnan(w[1])))
        for g, w in zip(as_tuples, want, strict=True)
    )


def test_a_0001_store_is_refused_then_upgraded_with_every_point_kept(fresh_store_uri: str, tmp_path) -> None:
    make_0001_store(fresh_store_uri, str(tmp_path / "artifacts"))
    with pytest.raises(SchemaVersionError, match="sweeps db upgrade"):
        tracking.connect(fresh_store_uri)

    migrate.upgrade(make_engine(fresh_store_uri))

    with tracking.connect(fresh_store_uri) as client:
        for (run_id, key), history in HISTORIES.items():
            assert same_history(client.get_metric_history(run_id, key), history), (run_id, key)
            summary = client.get_run(run_id).metrics[key]
            want = _summary_0001(run_id, key, history)
            assert (summary.last_step, summary.min_step, summary.max_step) == (
                want["last_step"],
                want["min_step"],
                want["max_step"],
            )
        found = client.search_runs("old", filter="metrics.loss < 1")
        assert found["run_id"].to_list() == ["a" * 32]
        # The upgraded store takes new points.
        run = client.start_run("old", "after")
        client.log_metrics(run.run_id, {"loss": 0.75}, step=0)
        client.end_run(run.run_id)
        assert [m.value for m in client.get_metric_history(run.run_id, "loss")] == [0.75]
        assert len(client.get_metric_history("a" * 32, "loss")) == 4


def test_downgrade_to_0001_gives_back_the_same_rows(fresh_store_uri: str, tmp_path) -> None:
    make_0001_store(fresh_store_uri, str(tmp_path / "artifacts"))
    before = rows_0001(fresh_store_uri)
    engine = make_engine(fresh_store_uri)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "0001")
        assert rows_0001(fresh_store_uri) == before
        migrate.upgrade(engine)  # and up again, for a release that has the fix
    finally:
        engine.dispose()
    with tracking.connect(fresh_store_uri) as client:
        assert same_history(client.get_metric_history("b" * 32, "loss"), HISTORIES["b" * 32, "loss"])


def test_points_without_a_summary_row_are_kept_and_summarised(fresh_store_uri: str, tmp_path) -> None:
    make_0001_store(fresh_store_uri, str(tmp_path / "artifacts"))
    run_id = "b" * 32
    engine = sa.create_engine(fresh_store_uri)
    try:
        with engine.begin() as conn:  # as if a summary row had been lost
            conn.exec_driver_sql(f"DELETE FROM metric_summaries WHERE run_id = '{run_id}' AND key = 'loss'")
    finally:
        engine.dispose()
    migrate.upgrade(make_engine(fresh_store_uri))
    with tracking.connect(fresh_store_uri) as client:
        assert same_history(client.get_metric_history(run_id, "loss"), HISTORIES[run_id, "loss"])
        s = client.get_run(run_id).metrics["loss"]
        assert (s.last, s.last_step, s.min, s.min_step, s.max, s.max_step) == (3.0, 1, 2.0, 0, 3.0, 1)


def test_summaries_rebuilt_from_points_alone_match_the_recorded_ones(fresh_store_uri: str, tmp_path) -> None:
    # With every summary row lost, the migration's own (frozen) summary rule rebuilds each one,
    # NaN-only series included: the same rows the writer had recorded.
    make_0001_store(fresh_store_uri, str(tmp_path / "artifacts"))
    engine = sa.create_engine(fresh_store_uri)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM metric_summaries")
    finally:
        engine.dispose()
    migrate.upgrade(make_engine(fresh_store_uri))
    engine = sa.create_engine(fresh_store_uri)
    try:
        with engine.connect() as conn:
            columns = "run_id, key, last_value, last_step, last_timestamp, min_value, min_step, max_value, max_step"
            got = conn.exec_driver_sql(f"SELECT {columns} FROM metric_summaries ORDER BY run_id, key").all()
    finally:
        engine.dispose()
    want = [tuple(_summary_0001(r, k, h).values()) for (r, k), h in sorted(HISTORIES.items())]
    assert [tuple(row) for row in got] == want


def test_a_failed_upgrade_leaves_the_store_as_it_was(fresh_store_uri: str, tmp_path) -> None:
    make_0001_store(fresh_store_uri, str(tmp_path / "artifacts"))
    before = rows_0001(fresh_store_uri)
    engine = make_engine(fresh_store_uri)
    try:
        with engine.begin() as conn:  # a leftover table in the way of the migration's own
            conn.exec_driver_sql("CREATE TABLE metrics_old (x INTEGER)")
        with pytest.raises(sa.exc.DatabaseError, match="metrics_old"):
            migrate.upgrade(engine)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == "0001"
    finally:
        engine.dispose()
    assert rows_0001(fresh_store_uri) == before


def test_0003_adds_only_new_tables_and_downgrades_to_0002_keeping_every_run(fresh_store_uri: str, tmp_path) -> None:
    engine = make_engine(fresh_store_uri)
    try:
        migrate.upgrade(engine, "0002")
        with tracking.connect(fresh_store_uri, upgrade=True, artifacts=str(tmp_path)) as client:
            run = client.start_run("kept")
            client.log_metric(run.run_id, "loss", 0.5, step=0)
            client.end_run(run.run_id)
        new = {"auth_users", "auth_tokens", "auth_grants", "protected_aliases", "sweep_leases"}
        assert new <= set(sa.inspect(engine).get_table_names())
        migrate.downgrade(engine, "0002")
        assert not new & set(sa.inspect(engine).get_table_names())
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    with tracking.connect(fresh_store_uri) as client:
        assert [m.value for m in client.get_metric_history(run.run_id, "loss")] == [0.5]
