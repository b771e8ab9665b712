"""The store boundary: every failure leaves as a `TrackingError`; no SQLAlchemy, psycopg or sqlite3 type escapes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tracking import (
    FilterError,
    InvalidParameter,
    Metric,
    MetricPoint,
    RunExists,
    RunFinished,
    RunNotFound,
    RunStatus,
    StoreError,
    StoreUnavailable,
    TrackingClient,
    TrackingError,
)
from tracking.point_block import PointBlock
from tracking.store import Store

GHOST = "0" * 32
DRIVER_MODULES = ("sqlalchemy", "psycopg", "sqlite3", "_sqlite3")


def assert_tracking_error(call: Callable[[], object], expected: type[TrackingError]) -> TrackingError:
    """``call`` raises ``expected``; neither it nor its class comes from a database library."""
    with pytest.raises(TrackingError) as info:
        call()
    error = info.value
    assert isinstance(error, expected), f"{type(error).__name__}: {error}"
    for cls in type(error).__mro__:
        assert not cls.__module__.startswith(DRIVER_MODULES), f"{cls} escaped the store boundary"
    assert not isinstance(error, sqlite3.Error | sa.exc.SQLAlchemyError)
    return error


def _block(run_id: str) -> PointBlock:
    return PointBlock.from_points([MetricPoint(run_id, "m", 0, 1.0, 1)])


def test_refusals_through_the_client_are_tracking_errors(client: TrackingClient, store: Store) -> None:
    live = client.start_run("e", "live", run_id="taken-id")
    done = client.start_run("e", "done")
    done.end()
    calls: list[tuple[str, Callable[[], object], type[TrackingError]]] = [
        ("duplicate run id", lambda: client.start_run("e", run_id="taken-id"), RunExists),
        (
            "duplicate run id, store",
            lambda: store.create_run(
                client.get_or_create_experiment("e"),
                name=None,
                parent_run_id=None,
                tags={},
                user=None,
                run_id="taken-id",
            ),
            RunExists,
        ),
        ("bad run id", lambda: client.start_run("e", run_id="a/../b"), InvalidParameter),
        ("unknown run: get", lambda: client.get_run(GHOST), RunNotFound),
        ("unknown run: end", lambda: client.end_run(GHOST), RunNotFound),
        ("unknown run: status", lambda: client.set_run_status(GHOST, RunStatus.RUNNING), RunNotFound),
        ("unknown run: param", lambda: client.log_param(GHOST, "p", 1), RunNotFound),
        ("unknown run: tag", lambda: client.set_tag(GHOST, "t", 1), RunNotFound),
        ("unknown run: metric", lambda: client.log_metric(GHOST, "m", 1.0), RunNotFound),
        ("unknown run: block", lambda: client.log_block(_block(GHOST)), RunNotFound),
        ("unknown parent", lambda: client.start_run("e", parent=GHOST), RunNotFound),
        ("unknown experiment", lambda: client.get_experiment(10_000), tracking.ExperimentNotFound),
        ("finished run: param", lambda: done.log_param("p", 1), RunFinished),
        ("finished run: param, store", lambda: store.log_params(done.run_id, {"p": "1"}), RunFinished),
        ("finished run: metric", lambda: done.log_metric("m", 1.0), RunFinished),
        ("finished run: batch", lambda: client.log_batch(done.run_id, [Metric("m", 1.0, 0, 0)]), RunFinished),
        ("finished run: block", lambda: client.log_block(_block(done.run_id)), RunFinished),
        ("finished run: attach", lambda: client.attach(done.run_id), RunFinished),
        (
            "finished run: final points",
            lambda: client.end_runs(
                [(live.run_id, RunStatus.FINISHED, None)], [MetricPoint(done.run_id, "m", 0, 1, 1)]
            ),
            RunFinished,
        ),
        ("param conflict", lambda: (live.log_param("p", 1), live.log_param("p", 2)), tracking.ParamConflict),
        ("bad key", lambda: live.log_metric("", 1.0), InvalidParameter),
        ("bad value", lambda: live.log_metric("m", "high"), InvalidParameter),  # type: ignore[arg-type]
        ("bad filter", lambda: client.search_runs("e", filter="metrics.m >"), FilterError),
        ("bad order", lambda: client.search_runs("e", order_by=["metrics.m sideways"]), FilterError),
        ("bad max_results", lambda: client.search_runs("e", max_results=0), InvalidParameter),
    ]
    for name, call, expected in calls:
        try:
            assert_tracking_error(call, expected)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    assert store.count_runs() == 2  # none of the refused calls made a run
    assert client.get_run(done.run_id).status is RunStatus.FINISHED
    client.set_tag(done.run_id, "note", "tags still go on an ended run")
    assert client.get_run(done.run_id).tags["note"] == "tags still go on an ended run"


def test_a_long_flat_filter_is_a_short_filter_error_on_every_store(client: TrackingClient) -> None:
    # SQLite used to answer "Expression tree is too large" with 227 KB of SQL; PostgreSQL ran for minutes.
    client.start_run("e").end()
    for joiner in (" and ", " or "):
        text = joiner.join(f"params.p{i} = 'v{i}'" for i in range(1_000))
        error = assert_tracking_error(lambda text=text: client.search_runs("e", filter=text), FilterError)
        message = str(error)
        assert "more than 100 conditions" in message and len(message) < 600, message
        # The server sends the message, with the position and an excerpt pointing at it.
        position = text.index("params.p100 ")
        assert f"at position {position}:" in message
        pointer_line = message.splitlines()[-1]
        excerpt_line = message.splitlines()[-2]
        assert excerpt_line[len(pointer_line) - 1 :].startswith("params.p100 ")


def test_a_closed_client_refuses_with_tracking_errors(client: TrackingClient) -> None:
    run = client.start_run("e")
    client.close()
    for call, expected in [
        (lambda: client.get_run(run.run_id), StoreError),
        (lambda: client.start_run("e"), StoreError),
        (lambda: client.search_runs("e"), StoreError),
        (lambda: client.log_param(run.run_id, "p", 1), StoreError),
        (lambda: client.log_metric(run.run_id, "m", 1.0, step=3), tracking.SinkError),
        # step=None reserves its steps in the store first: the store says it is closed.
        (lambda: client.log_metric(run.run_id, "m", 1.0), StoreError),
        (lambda: client.list_experiments(), StoreError),
    ]:
        error = assert_tracking_error(call, expected)
        assert "closed" in str(error)


def test_a_table_gone_under_the_store_is_a_store_error_without_sql(fresh_store_uri: str, artifact_root: Path) -> None:
    # A database of its own (not the shared scratch one): this test damages it.
    with tracking.connect(fresh_store_uri, artifacts=str(artifact_root)) as client:
        run = client.start_run("e", params={"p": 1})
        engine = sa.create_engine(fresh_store_uri)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE tags")  # another program damaged the database
        finally:
            engine.dispose()
        error = assert_tracking_error(lambda: client.set_tag(run.run_id, "t", "v"), StoreError)
        assert "tags" in str(error)
        assert "DELETE" not in str(error) and "INSERT" not in str(error) and "SELECT" not in str(error)
        assert isinstance(error.__cause__, sa.exc.SQLAlchemyError)  # the original is chained
        assert_tracking_error(lambda: client.get_run(run.run_id), StoreError)
        # A raw driver error (the run hot path bypasses SQLAlchemy) is mapped the same way.
        error = assert_tracking_error(lambda: client.start_run("e", tags={"t": "v"}), StoreError)
        assert isinstance(error.__cause__, sqlite3.Error) or type(error.__cause__).__module__.startswith("psycopg")


def test_an_unreachable_postgresql_server_is_store_unavailable() -> None:
    error = assert_tracking_error(
        lambda: tracking.connect("postgresql+psycopg://u:pw@127.0.0.1:1/db"), StoreUnavailable
    )
    assert "127.0.0.1" in str(error) and "pw@" not in str(error)
    assert isinstance(error, StoreError)


def test_a_store_file_that_is_a_folder_or_garbage_is_store_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    assert_tracking_error(lambda: tracking.connect(f"sqlite:///{folder}"), StoreUnavailable)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database, just some bytes " * 200)
    error = assert_tracking_error(lambda: tracking.connect(f"sqlite:///{garbage}"), StoreUnavailable)
    assert "not a database" in str(error)


def test_uri_and_store_together_are_refused(store: Store) -> None:
    assert_tracking_error(lambda: TrackingClient("sqlite://", store=store), InvalidParameter)
