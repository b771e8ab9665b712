"""The batching metric sink: flush triggers, bounded memory, retried batches, many writers at once."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tests.support import polling
from tracking import MetricPoint, MetricSink, SinkError, TrackingClient
from tracking.point_block import PointBlock
from tracking.store import sql_store

WAIT_S = 10.0  # upper bound for anything that should happen "soon"; never reached when all is well


def points(n: int, run_id: str = "r", key: str = "k", start: int = 0) -> list[MetricPoint]:
    return [MetricPoint(run_id, key, s, float(s), 1000 + s) for s in range(start, start + n)]


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    polling.wait_until(condition, timeout_s, every_s=0.001)


class Recorder:
    """A write function that records batches and signals each one."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[MetricPoint]] = []
        self.wrote = threading.Event()
        self.entered = threading.Event()
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, batch: Sequence[MetricPoint]) -> None:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S), "test never released the writer"
        with self.lock:
            self.batches.append(list(batch))
        self.wrote.set()

    @property
    def written(self) -> list[MetricPoint]:
        with self.lock:
            return [p for b in self.batches for p in b]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_sink() -> Iterator[Callable[..., MetricSink]]:
    made: list[MetricSink] = []

    def make(write: Callable[[Sequence[MetricPoint]], None], **options: float) -> MetricSink:
        sink = MetricSink(write, **options)  # type: ignore[arg-type]
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


# -- flush triggers ------------------------------------------------------------------------


def test_flushes_when_a_batch_is_full(make_sink: Callable[..., MetricSink], recorder: Recorder) -> None:
    sink = make_sink(recorder, batch_size=10, max_batch=10, flush_interval_s=3600, max_pending=100)
    sink.put(points(9))
    assert sink.pending == 9 and recorder.batches == []
    sink.put(points(1, start=9))
    assert recorder.wrote.wait(WAIT_S)
    assert recorder.batches == [points(10)]


def test_flushes_on_time(make_sink: Callable[..., MetricSink], recorder: Recorder) -> None:
    sink = make_sink(recorder, batch_size=1000, max_batch=1000, flush_interval_s=0.05, max_pending=10_000)
    started = time.monotonic()
    sink.put(points(3))
    assert recorder.wrote.wait(WAIT_S), "a partial batch was never flushed by the timer"
    assert time.monotonic() - started >= 0.04
    assert recorder.batches == [points(3)]


def test_flush_returns_once_everything_is_written(make_sink: Callable[..., MetricSink], recorder: Recorder) -> None:
    sink = make_sink(recorder, batch_size=1000, max_batch=1000, flush_interval_s=3600, max_pending=10_000)
    sink.put(points(5))
    sink.put(points(5, key="other"))
    sink.flush()
    assert recorder.written == points(5) + points(5, key="other")
    assert sink.pending == 0


def test_close_flushes_and_refuses_more(make_sink: Callable[..., MetricSink], recorder: Recorder) -> None:
    sink = make_sink(recorder, batch_size=1000, max_batch=1000, flush_interval_s=3600, max_pending=10_000)
    sink.put(points(7))
    sink.close()
    assert recorder.written == points(7)
    with pytest.raises(SinkError, match="closed"):
        sink.put(points(1))
    sink.close()  # idempotent


def test_large_puts_are_split_into_bounded_batches(make_sink: Callable[..., MetricSink], recorder: Recorder) -> None:
    sink = make_sink(recorder, batch_size=100, max_batch=250, flush_interval_s=3600, max_pending=1000)
    sink.put(points(2_345))
    sink.flush()
    assert recorder.written == points(2_345)
    assert max(len(b) for b in recorder.batches) <= 250


def test_argument_checks() -> None:
    with pytest.raises(ValueError):
        MetricSink(lambda batch: None, batch_size=0)
    with pytest.raises(ValueError):
        MetricSink(lambda batch: None, batch_size=100, max_batch=10)
    with pytest.raises(ValueError):
        MetricSink(lambda batch: None, batch_size=10, max_batch=100, max_pending=50)


# -- bounded memory ------------------------------------------------------------------------


def test_producers_block_at_max_pending_until_the_store_catches_up(make_sink: Callable[..., MetricSink]) -> None:
    gate = threading.Event()
    slow = Recorder(gate)
    bound = 50
    sink = make_sink(slow, batch_size=10, max_batch=10, flush_interval_s=3600, max_pending=bound)
    produced = threading.Event()

    def produce() -> None:
        for i in range(200):
            sink.put(points(1, start=i))
        produced.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    assert slow.entered.wait(WAIT_S)  # the writer holds one batch and is stuck in the store
    wait_until(lambda: sink.pending == bound)
    producer.join(timeout=0.2)
    assert producer.is_alive() and not produced.is_set(), "the producer should be blocked"
    assert sink.pending == bound  # nothing was accepted past the bound
    gate.set()
    assert produced.wait(WAIT_S)
    sink.flush()
    assert slow.written == points(200)
    assert sink.peak_pending <= bound


def test_many_blocked_producers_all_resume(make_sink: Callable[..., MetricSink]) -> None:
    gate = threading.Event()
    slow = Recorder(gate)
    sink = make_sink(slow, batch_size=5, max_batch=5, flush_interval_s=3600, max_pending=20)
    threads = [threading.Thread(target=lambda k=k: sink.put(points(100, key=f"k{k}")), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: sink.pending == 20)
    assert all(t.is_alive() for t in threads)  # 400 points wanted, room for 20: nobody can be done
    gate.set()
    for t in threads:
        t.join(WAIT_S)
        assert not t.is_alive()
    sink.flush()
    assert sorted(slow.written) == sorted(p for k in range(4) for p in points(100, key=f"k{k}"))
    assert sink.peak_pending <= 20


# -- failures ------------------------------------------------------------------------------


def test_a_failed_batch_is_reported_to_its_run_until_forgotten_and_the_sink_goes_on(
    make_sink: Callable[..., MetricSink],
) -> None:
    written: list[MetricPoint] = []
    calls = Counter[str]()

    def flaky(batch: Sequence[MetricPoint]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        written.extend(batch)

    sink = make_sink(flaky, batch_size=10, max_batch=10, flush_interval_s=3600, max_pending=100)
    sink.put(points(3))
    with pytest.raises(SinkError, match="disk full"):
        sink.flush()
    sink.flush()  # a full flush tells each failure once
    sink.put(points(3, run_id="other"))  # other runs go on
    with pytest.raises(SinkError, match="run r were lost"):  # the run itself is told every time
        sink.put(points(3, key="after"))
    sink.forget(["r"])  # its end recorded the loss
    sink.put(points(3, key="after"))
    sink.flush()
    assert written == points(3, run_id="other") + points(3, key="after")


def _fail_first_attempt(monkeypatch: pytest.MonkeyPatch, break_it: Callable[[sa.Connection], None]) -> Counter[str]:
    """Make the store's first batch write its points, then fail as a transient error would."""
    real = sql_store.write_points
    attempts = Counter[str]()

    def write_then_fail(conn: sa.Connection, batch: Sequence[MetricPoint], dialect: object) -> None:
        attempts["n"] += 1
        real(conn, batch, dialect)  # type: ignore[arg-type]
        if attempts["n"] == 1:
            break_it(conn)

    monkeypatch.setattr(sql_store, "write_points", write_then_fail)
    return attempts


def _locked(conn: sa.Connection) -> None:
    raise sa.exc.OperationalError("INSERT INTO metrics ...", {}, sqlite3.OperationalError("database is locked"))


def _drop_connection(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")  # the server hangs up on us
    else:
        _locked(conn)


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
@pytest.mark.parametrize("break_it", [_locked, _drop_connection], ids=["locked", "dropped-connection"])
def test_a_transient_failure_is_retried_without_duplicates(
    client: TrackingClient, monkeypatch: pytest.MonkeyPatch, break_it: Callable[[sa.Connection], None]
) -> None:
    run = client.start_run("e")
    attempts = _fail_first_attempt(monkeypatch, break_it)
    for step in range(300):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.log_metric("loss", 5.0, step=0)  # a duplicate step inside the batch
    client.flush()  # no error reaches the user
    assert attempts["n"] == 2
    history = client.get_metric_history(run.run_id, "loss")
    assert [m.step for m in history] == list(range(300))
    assert history[0].value == 1.0
    summary = client.get_run(run.run_id).metrics["loss"]
    assert (summary.max, summary.max_step, summary.last_step) == (1.0, 0, 299)
    run.log_metric("loss", 0.0)  # the client still works after the failure
    assert client.get_run(run.run_id).metrics["loss"].min == 0.0


def test_a_held_sqlite_write_lock_delays_but_loses_nothing(sqlite_uri: str, tmp_path: Path) -> None:
    with tracking.connect(sqlite_uri, artifacts=str(tmp_path)) as client:
        run = client.start_run("e")
        blocker = sqlite3.connect(sqlite_uri.removeprefix("sqlite:///"), isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
            for step in range(500):
                run.log_metric("m", float(step), step=step)
            with pytest.raises(SinkError, match="timed out"):
                client.flush(timeout_s=0.3)  # cannot finish while the lock is held
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        client.flush()
        history = client.get_metric_history(run.run_id, "m")
        assert [m.step for m in history] == list(range(500))


# -- visibility ----------------------------------------------------------------------------


def test_flush_makes_points_visible_to_other_readers(client: TrackingClient, store_uri: str, tmp_path: Path) -> None:
    run = client.start_run("e")
    with tracking.connect(store_uri, artifacts=str(tmp_path)) as reader:
        run.log_metrics({"a": 1.0, "b": 2.0})
        client.flush()
        assert {k: s.last for k, s in reader.get_run(run.run_id).metrics.items()} == {"a": 1.0, "b": 2.0}
        run.log_metric("a", 3.0)
        run.end()  # ending a run flushes its points
        info = reader.get_run(run.run_id)
        assert info.metrics["a"].last == 3.0 and info.status is tracking.RunStatus.FINISHED


def test_points_are_flushed_at_interpreter_exit(sqlite_uri: str, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import tracking
        client = tracking.connect({sqlite_uri!r}, artifacts={str(tmp_path)!r}, flush_interval_s=3600)
        run = client.start_run("e", "exiting")
        for step in range(1234):
            run.log_metric("m", float(step))
        print(run.run_id)
        # no flush, no close: the sink must write at exit
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    run_id = result.stdout.strip()
    with tracking.connect(sqlite_uri, artifacts=str(tmp_path)) as reader:
        assert len(reader.get_metric_history(run_id, "m")) == 1234


# -- many writers --------------------------------------------------------------------------


def test_many_threads_logging_to_many_runs_store_every_point_once(store_uri: str, tmp_path: Path) -> None:
    n_threads, n_runs, n_steps = 6, 5, 200
    with tracking.connect(store_uri, artifacts=str(tmp_path), batch_size=250) as client:
        runs = [client.start_run("e", f"r{i}") for i in range(n_runs)]
        barrier = threading.Barrier(n_threads)
        errors: list[BaseException] = []

        def log(thread: int) -> None:
            try:
                barrier.wait(WAIT_S)
                for step in range(n_steps):
                    for run in runs:
                        run.log_metric(f"t{thread}", thread * 1_000_000 + step)  # step=None: auto steps
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=log, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        client.flush()
        for run in runs:
            info = client.get_run(run.run_id)
            assert sorted(info.metrics) == sorted(f"t{t}" for t in range(n_threads))
            for thread in range(n_threads):
                history = client.get_metric_history(run.run_id, f"t{thread}")
                assert [(m.step, m.value) for m in history] == [
                    (s, float(thread * 1_000_000 + s)) for s in range(n_steps)
                ]
                assert info.metrics[f"t{thread}"].last_step == n_steps - 1


# -- one run's end, one run's failure --------------------------------------------------------


class FaultyStore:
    """A real store whose point writes can be held at a gate or fail, for batches holding one run.

    Everything else goes to the store it wraps. A failing or slow write is a fault that a
    real database cannot be made to produce on cue, hence the wrapper.
    """

    def __init__(self, inner: tracking.Store) -> None:
        self._inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.hold_run: str | None = None  # batches holding this run wait at the gate
        self.fail_run: str | None = None  # the next batch holding this run fails
        self.writes: list[set[str]] = []  # the runs of each batch written through the sink

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def write_metric_points(self, batch: Sequence[object]) -> None:
        runs = {item.run_id for item in batch}  # type: ignore[attr-defined]
        if self.hold_run in runs:
            self.entered.set()
            assert self.gate.wait(WAIT_S), "test never released the writer"
        if self.fail_run in runs:
            self.fail_run = None
            raise tracking.StoreError("disk full")
        self.writes.append(runs)
        self._inner.write_metric_points(batch)  # type: ignore[arg-type]


@pytest.fixture(params=[1, 2], ids=["one-writer", "sharded"])
def faulty(
    request: pytest.FixtureRequest, sqlite_uri: str, tmp_path: Path
) -> Iterator[tuple[TrackingClient, FaultyStore]]:
    """A client (one sink writer, or a sharded sink) on a `FaultyStore`; nothing flushes on time."""
    from tracking.store import open_store

    store = FaultyStore(open_store(sqlite_uri))
    client = tracking.connect(
        store=store,  # type: ignore[arg-type]
        artifacts=str(tmp_path),
        batch_size=10,
        flush_interval_s=3600,
        sink_writers=request.param,
    )
    try:
        yield client, store
    finally:
        store.gate.set()
        with contextlib.suppress(SinkError):
            client.close()


def stored_steps(store: FaultyStore, run_id: str, key: str = "k") -> list[int]:
    """The steps stored for a run, read from the store itself (no flush of the client's sink)."""
    return [m.step for m in store.metric_histories([run_id], [key]).get(run_id, {}).get(key, [])]


def test_ending_a_run_stores_its_points_and_leaves_the_others_queued(
    faulty: tuple[TrackingClient, FaultyStore],
) -> None:
    client, store = faulty
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    for step in range(5):  # below batch_size: both stay queued
        a.log_metric("k", float(step), step=step)
        b.log_metric("k", float(step), step=step)
    a.end()
    assert store.writes == []  # nothing went through the sink: a's points went with its end
    assert client.get_run(a.run_id).status is tracking.RunStatus.FINISHED
    assert stored_steps(store, a.run_id) == [0, 1, 2, 3, 4]
    assert stored_steps(store, b.run_id) == []  # b's points are still queued
    assert client.sink_stats().pending == 5
    client.flush()
    assert stored_steps(store, b.run_id) == [0, 1, 2, 3, 4]


def test_ending_a_run_does_not_wait_for_another_runs_batch(faulty: tuple[TrackingClient, FaultyStore]) -> None:
    client, store = faulty
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    store.gate.clear()
    store.hold_run = b.run_id
    for step in range(10):  # a full batch: the writer takes it and is held at the gate
        b.log_metric("k", float(step), step=step)
    assert store.entered.wait(WAIT_S)
    a.log_metric("k", 1.0, step=0)
    a.end()  # returns while b's batch is still being written
    assert stored_steps(store, a.run_id) == [0] and client.get_run(a.run_id).status is tracking.RunStatus.FINISHED
    assert stored_steps(store, b.run_id) == []
    store.gate.set()
    client.flush()
    assert stored_steps(store, b.run_id) == list(range(10))


def test_ending_a_run_waits_for_its_own_batch_in_flight(faulty: tuple[TrackingClient, FaultyStore]) -> None:
    client, store = faulty
    run = client.start_run("e")
    store.gate.clear()
    store.hold_run = run.run_id
    for step in range(10):  # the writer holds these at the gate
        run.log_metric("k", float(step), step=step)
    assert store.entered.wait(WAIT_S)
    for step in range(10, 13):  # queued behind the held batch
        run.log_metric("k", float(step), step=step)
    ender = threading.Thread(target=run.end)
    ender.start()
    ender.join(timeout=0.2)
    assert ender.is_alive(), "the end must wait for the run's batch being written"
    assert client.sink_stats().pending == 13
    store.gate.set()
    ender.join(WAIT_S)
    assert not ender.is_alive()
    assert stored_steps(store, run.run_id) == list(range(13))
    assert client.get_run(run.run_id).status is tracking.RunStatus.FINISHED


def test_a_failed_batch_is_reported_to_its_run_only(faulty: tuple[TrackingClient, FaultyStore]) -> None:
    client, store = faulty
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    store.fail_run = b.run_id
    for step in range(10):
        b.log_metric("k", float(step), step=step)
    wait_until(lambda: client.sink_stats().batches_written >= 1)
    a.log_metric("k", 1.0, step=0)  # another run: no error
    with pytest.raises(SinkError, match=f"run {b.run_id}.*disk full") as info:
        b.log_metric("k", 10.0, step=10)
    assert info.value.run_ids == (b.run_id,)
    assert isinstance(info.value.__cause__, tracking.StoreError)
    with pytest.raises(SinkError, match=f"run {b.run_id}"):  # and again: it can never end FINISHED
        b.log_metric("k", 11.0, step=11)
    client.flush()  # every failure has been reported
    assert stored_steps(store, b.run_id) == []
    assert client.get_metric_history(a.run_id, "k")[0].value == 1.0


def test_an_unreported_failure_is_raised_by_the_next_full_flush_once(
    faulty: tuple[TrackingClient, FaultyStore],
) -> None:
    client, store = faulty
    run = client.start_run("e")
    store.fail_run = run.run_id
    for step in range(10):
        run.log_metric("k", float(step), step=step)
    with pytest.raises(SinkError, match=run.run_id):
        client.flush()
    client.flush()
    assert stored_steps(store, run.run_id) == []


def test_a_failed_batch_is_reported_by_the_runs_end_and_read(faulty: tuple[TrackingClient, FaultyStore]) -> None:
    client, store = faulty
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    store.fail_run = a.run_id
    for step in range(10):
        a.log_metric("k", float(step), step=step)
    wait_until(lambda: client.sink_stats().batches_written >= 1)
    assert client.get_run(b.run_id).status is tracking.RunStatus.RUNNING  # another run's read: no error
    with pytest.raises(SinkError, match=a.run_id):
        client.end_run(a.run_id)
    assert client.get_run(a.run_id).status is tracking.RunStatus.RUNNING  # nothing was written
    client.end_run(a.run_id, tracking.RunStatus.FAILED, "lost points")
    assert client.get_run(a.run_id).status is tracking.RunStatus.FAILED

    store.fail_run = b.run_id
    for step in range(10):
        b.log_metric("k", float(step), step=step)
    wait_until(lambda: client.sink_stats().batches_written >= 2)
    with pytest.raises(SinkError, match=b.run_id):
        client.get_metric_history(b.run_id, "k")


def test_points_queued_for_an_end_that_fails_are_kept(faulty: tuple[TrackingClient, FaultyStore]) -> None:
    client, store = faulty
    run = client.start_run("e")
    run.log_metric("k", 1.0, step=0)
    with pytest.raises(tracking.RunNotFound):  # one unknown run: the whole end is refused
        client.end_runs(
            [(run.run_id, tracking.RunStatus.FINISHED, None), ("0" * 32, tracking.RunStatus.FINISHED, None)]
        )
    assert stored_steps(store, run.run_id) == []
    assert client.sink_stats().pending == 1  # back in the queue
    client.flush()
    assert stored_steps(store, run.run_id) == [0]


def test_runs_ending_while_others_log_keep_every_point_once_in_order(sqlite_uri: str, tmp_path: Path) -> None:
    n_runs, n_steps = 8, 60
    with tracking.connect(sqlite_uri, artifacts=str(tmp_path), batch_size=7) as client:
        runs = [client.start_run("e", f"r{i}") for i in range(n_runs)]
        errors: list[BaseException] = []

        def log_and_end(index: int) -> None:
            try:
                run = runs[index]
                for step in range(n_steps):
                    run.log_metric("k", float(step), step=step)
                    if step % 13 == 0:
                        client.log_block(
                            PointBlock.from_points([MetricPoint(run.run_id, "b", step, float(step), step)])
                        )
                final = [MetricPoint(run.run_id, "k", n_steps, -1.0, 0), MetricPoint(run.run_id, "k", 0, -9.0, 0)]
                client.end_runs([(run.run_id, tracking.RunStatus.FINISHED, None)], final)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=log_and_end, args=(i,)) for i in range(n_runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        for run in runs:
            history = client.get_metric_history(run.run_id, "k")
            # step 0 was logged first, so the final point at step 0 is dropped (first wins)
            assert [(m.step, m.value) for m in history] == [(s, float(s)) for s in range(n_steps)] + [(n_steps, -1.0)]
            assert [m.step for m in client.get_metric_history(run.run_id, "b")] == list(range(0, n_steps, 13))
            assert client.get_run(run.run_id).status is tracking.RunStatus.FINISHED
        assert client.sink_stats().pending == 0


def test_take_splits_a_put_of_several_runs_and_restore_puts_it_back(
    make_sink: Callable[..., MetricSink], recorder: Recorder
) -> None:
    sink = make_sink(recorder, batch_size=1000, max_batch=1000, flush_interval_s=3600, max_pending=10_000)
    mixed = [*points(3, run_id="a"), *points(2, run_id="b"), *points(2, run_id="a", start=3)]
    sink.put(mixed)  # no run_id: the sink looks at the points only when taking
    sink.put(points(2, run_id="a", start=5), run_id="a")
    taken = sink.take({"a"})
    assert taken.items == points(7, run_id="a")
    assert sink.pending == 2
    taken.restore()
    assert sink.pending == 9
    taken = sink.take({"b"})
    assert taken.items == points(2, run_id="b")
    taken.done()
    sink.flush()
    assert recorder.written == points(7, run_id="a")
