"""Real PostgreSQL restarts and outages while runs log: no point lost, producers blocked with
bounded memory, and every run of a batch that outlived its deadline told (never FINISHED)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

import tracking
from tests.support import pg_outage, polling, postgres
from tracking import RunStatus, SinkError
from tracking.store.errors import is_transient

pytestmark = pytest.mark.postgres

WAIT_S = 60.0  # upper bound for anything that should happen "soon"


@pytest.fixture
def own_uri(own_postgres: postgres.PostgresServer) -> str:
    uri = own_postgres.create_database()
    tracking.connect(uri).close()  # the schema, before any outage
    return uri


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    polling.wait_until(condition, timeout_s, every_s=0.01)


class Loggers:
    """One thread per run logging consecutive steps of ``k`` until stopped; counts what each logged."""

    def __init__(self, runs: list[tracking.ActiveRun]) -> None:
        self.runs = runs
        self.logged = [0] * len(runs)
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._log, args=(i,), daemon=True) for i in range(len(runs))]

    def _log(self, i: int) -> None:
        run = self.runs[i]
        try:
            while not self._stop.is_set():
                step = self.logged[i]
                run.log_metrics({"k": float(step), "k2": -float(step)}, step=step)
                self.logged[i] = step + 1
                if step % 50 == 0:
                    time.sleep(0.001)  # let the writer threads in; the loggers would starve them
        except BaseException as exc:
            self.errors.append(exc)

    def __enter__(self) -> Loggers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(WAIT_S)
        assert not any(t.is_alive() for t in self._threads), "a logger never returned"


def assert_every_point_stored(client: tracking.TrackingClient, loggers: Loggers) -> None:
    assert loggers.errors == []
    for run, logged in zip(loggers.runs, loggers.logged, strict=True):
        assert logged > 0
        info = client.get_run(run.run_id)
        assert info.status is RunStatus.FINISHED
        for key in ("k", "k2"):
            steps = [m.step for m in client.get_metric_history(run.run_id, key)]
            assert steps == list(range(logged)), (run.run_id, key, len(steps), logged)
            assert info.metrics[key].last_step == logged - 1


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_points_logged_across_a_restart_are_all_stored(
    own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path, mode: str
) -> None:
    # Small batches: several are in flight or queued when the server goes away.
    with tracking.connect(own_uri, artifacts=str(tmp_path), batch_size=200, flush_interval_s=0.05) as client:
        runs = [client.start_run("restart", f"r{i}") for i in range(6)]
        with Loggers(runs) as loggers:
            wait_until(lambda: client.sink_stats().batches_written >= 5)
            pg_outage.restart(own_postgres, mode)  # every session is ended, as by an operator
            written = client.sink_stats().batches_written
            wait_until(lambda: client.sink_stats().batches_written >= written + 5)  # logging went on
        for run in runs:
            run.end()  # no error reaches the user
        assert_every_point_stored(client, loggers)


def _outage(own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path, outage_s: float) -> None:
    with tracking.connect(own_uri, artifacts=str(tmp_path), batch_size=500, flush_interval_s=0.05) as client:
        runs = [client.start_run("outage", f"r{i}") for i in range(4)]
        bound = client._sink.max_pending
        with Loggers(runs) as loggers:
            wait_until(lambda: client.sink_stats().batches_written >= 3)
            with pg_outage.stopped(own_postgres):
                began = time.monotonic()
                # Producers fill the buffer, then block: memory stays bounded, nothing is dropped.
                wait_until(lambda: client.sink_stats().pending >= bound // 2)
                held = sum(loggers.logged)
                while time.monotonic() - began < outage_s:  # the outage lasts this long
                    assert loggers.errors == []
                    assert client.sink_stats().pending <= bound
                    time.sleep(0.1)
                assert sum(loggers.logged) - held <= bound  # the loggers waited
            written = client.sink_stats().batches_written
            wait_until(lambda: client.sink_stats().batches_written >= written + 3)
        assert client.sink_stats().peak_pending <= bound
        for run in runs:
            run.end()
        assert_every_point_stored(client, loggers)


def test_points_logged_while_the_database_is_stopped_a_few_seconds_are_all_stored(
    own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path
) -> None:
    _outage(own_postgres, own_uri, tmp_path, outage_s=3.0)


@pytest.mark.slow
def test_points_logged_while_the_database_is_stopped_20_s_are_all_stored(
    own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path
) -> None:
    _outage(own_postgres, own_uri, tmp_path, outage_s=20.0)


def test_a_batch_past_its_deadline_fails_every_run_in_it_and_none_ends_finished(
    own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path
) -> None:
    # One writer and a long flush interval: a single batch holds the points of all three runs.
    client = tracking.connect(
        own_uri, artifacts=str(tmp_path), batch_size=10_000, flush_interval_s=3600, sink_writers=1, retry_for_s=1.0
    )
    try:
        runs = [client.start_run("deadline", f"r{i}") for i in range(3)]
        for run in runs:
            for step in range(10):
                run.log_metric("k", float(step), step=step)
        with pg_outage.stopped(own_postgres):
            with pytest.raises(SinkError) as info:
                client.flush(timeout_s=WAIT_S)
            assert set(info.value.run_ids) == {r.run_id for r in runs}
            assert "retried for 1s" in str(info.value)
            assert isinstance(info.value.__cause__, tracking.StoreUnavailable)
        for run in runs:  # each run is told on every later write, naming it
            for _ in range(2):
                with pytest.raises(SinkError, match=f"run {run.run_id} were lost"):
                    run.log_metric("k", 99.0, step=99)
            with pytest.raises(SinkError, match=run.run_id):
                run.end()  # never FINISHED with points missing
            assert client.get_run(run.run_id).status is RunStatus.RUNNING
        client.end_run(runs[0].run_id, RunStatus.FAILED, "lost points")
        client.end_runs([(runs[1].run_id, RunStatus.KILLED, None), (runs[2].run_id, RunStatus.FAILED, "lost")])
        for run in runs:
            info_run = client.get_run(run.run_id)
            assert info_run.status in (RunStatus.FAILED, RunStatus.KILLED)
            assert client.get_metric_history(run.run_id, "k") == []  # nothing half-written
        client.flush()  # every loss has been told
    finally:
        client.close()


def test_a_new_run_after_a_restart_works_with_the_old_pool(
    own_postgres: postgres.PostgresServer, own_uri: str, tmp_path: Path
) -> None:
    with tracking.connect(own_uri, artifacts=str(tmp_path)) as client:
        before = client.start_run("pool")
        pg_outage.restart(own_postgres, "fast")  # every pooled connection is now dead
        after = client.start_run("pool")  # a write and a read on the stale pool
        after.log_metric("k", 1.0, step=0)
        after.end()
        before.end()
        assert client.get_run(after.run_id).metrics["k"].last == 1.0


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection failed: FATAL:  the database system is shutting down"),
        psycopg.OperationalError("connection failed: FATAL:  the database system is starting up"),
        psycopg.OperationalError("connection failed: FATAL:  the database system is in recovery mode"),
        psycopg.OperationalError('connection failed: connection to server at "127.0.0.1" failed: Connection refused'),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("anything"),
    ],
    ids=["shutting-down", "starting-up", "recovery", "refused", "admin-shutdown", "cannot-connect-now"],
)
def test_restart_errors_are_transient(error: Exception) -> None:
    assert is_transient(error)


def test_a_statement_timeout_is_not_transient() -> None:
    assert not is_transient(psycopg.errors.QueryCanceled("canceling statement due to statement timeout"))
