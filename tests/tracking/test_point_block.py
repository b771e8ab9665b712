"""Point blocks: columns in, the same points, summaries and errors out as the per-point path."""

from __future__ import annotations

import math
import pickle
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SQL_STORE_PARAMS, STORE_PARAMS
from tests.support.state import canon
from tracking import InvalidParameter, MetricPoint, MetricSink, RunFinished, RunNotFound, RunStatus, TrackingClient
from tracking.point_block import PointBlock, blocks_from_points
from tracking.point_buffer import PointBuffer
from tracking.store import Store, sql_store
from tracking.store.metric_writer import summarise
from tracking.validation import INT64_MAX, INT64_MIN, check_key, check_step

RUN = "r" * 32
FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
INT64 = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
# Keys as the store accepts them: any text without control characters, not blank.
KEYS = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(str.strip)


@st.composite
def run_points(draw: st.DrawFn, run_id: str = RUN, max_size: int = 60) -> list[MetricPoint]:
    """Points of one run over a few keys; steps from a small range so that some repeat."""
    keys = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
    wide = draw(st.booleans())
    steps = INT64 if wide else st.integers(min_value=-3, max_value=12)
    return draw(
        st.lists(
            st.builds(MetricPoint, st.just(run_id), st.sampled_from(keys), steps, FLOATS, INT64),
            min_size=1,
            max_size=max_size,
        )
    )


def same(a: Sequence[MetricPoint], b: Sequence[MetricPoint]) -> bool:
    """Equal points, NaN equal to NaN and the sign of zero kept."""
    return [(*p[:3], repr(p.value), p.timestamp) for p in a] == [(*p[:3], repr(p.value), p.timestamp) for p in b]


# -- the record on its own -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(points=run_points())
def test_points_round_trip_through_a_block_and_pickle(points: list[MetricPoint]) -> None:
    block = PointBlock.from_points(points)
    assert len(block) == len(points) and same(block.to_points(), points)
    assert block.check() is block  # already int64 / float64: nothing to convert
    data = pickle.dumps(block, protocol=5)
    back = pickle.loads(data)
    assert same(back.to_points(), points)
    assert len(data) <= 26 * len(points) + 200 + sum(len(k.encode()) + 8 for k in block.keys)


@settings(max_examples=300, deadline=None)
@given(points=run_points())
def test_summaries_and_repeats_match_the_per_point_rules(points: list[MetricPoint]) -> None:
    block = PointBlock.from_points(points)
    assert repr(sorted(block.summaries())) == repr(sorted(summarise(points)))
    assert block.has_repeats() == (len({(p.key, p.step) for p in points}) < len(points))
    tops: dict[str, int] = {}
    for p in points:
        tops[p.key] = max(tops.get(p.key, p.step), p.step)
    assert block.max_steps() == tops


def test_summaries_of_all_nan_keys_keep_the_first_step() -> None:
    points = [MetricPoint(RUN, "a", s, math.nan, 10 + s) for s in (5, 3, 9)]
    [row] = PointBlock.from_points(points).summaries()
    assert row == (RUN, "a", None, 9, 19, None, 5, None, 5) == summarise(points)[0]


def test_slices_are_blocks_of_their_own() -> None:
    points = [MetricPoint(RUN, k, s, float(s), 1) for s in range(5) for k in ("a", "b")]
    block = PointBlock.from_points(points)
    part = block.slice(3, 7)
    assert same(part.to_points(), points[3:7])
    assert part.keys == ("a", "b") and pickle.loads(pickle.dumps(part)).to_points() == points[3:7]


def test_blocks_from_points_makes_one_block_per_run_in_order() -> None:
    points = [MetricPoint(f"run{i % 2}", "k", i, 0.0, 0) for i in range(6)]
    blocks = blocks_from_points(points)
    assert [b.run_id for b in blocks] == ["run0", "run1"]
    assert [p.step for p in blocks[0].to_points()] == [0, 2, 4]
    with pytest.raises(ValueError, match="several runs"):
        PointBlock.from_points(points)


# -- the receiver's check: the per-point rules and messages -------------------------------


def block_of(**columns: object) -> PointBlock:
    base: dict[str, object] = {
        "run_id": RUN,
        "keys": ("loss", "acc"),
        "key_index": np.array([0, 1, 0], np.uint8),
        "steps": np.array([0, 0, 1], np.int64),
        "values": np.array([0.5, 0.9, 0.4]),
        "timestamps": np.array([1, 1, 2], np.int64),
    }
    base.update(columns)
    return PointBlock(**base)  # type: ignore[arg-type]


def message_of(call: object) -> str:
    with pytest.raises(InvalidParameter) as info:
        call()  # type: ignore[operator]
    return str(info.value)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 251, "tab\there", "nul\x00", 7])
def test_a_bad_key_fails_as_it_does_per_point(bad: object) -> None:
    got = message_of(block_of(keys=("loss", bad)).check)
    assert got == message_of(lambda: check_key("metric", bad))


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ({"steps": np.array([0, 1], np.int64)}, r"columns differ in length \(key_index 3, steps 2, values 3"),
        ({"keys": ("loss", "loss")}, "key 'loss' is listed twice"),
        ({"key_index": np.array([0, 1, 2], np.uint8)}, r"key_index must hold integers in \[0, 2\)"),
        ({"key_index": np.array([0, -1, 0], np.int64)}, r"key_index must hold integers in \[0, 2\)"),
        ({"key_index": np.array([0.0, 1.0, 0.0])}, "key_index must hold integers"),
        ({"steps": np.array([0.0, 1.5, 2.0])}, "metric 'loss': step must be an integer, got"),
        ({"values": np.array([True, False, True])}, "metric 'loss': value must be a number, got bool"),
        ({"values": np.array(["a", "b", "c"])}, "metric 'loss': value must be a number, got str"),
        ({"values": np.array([0.5, 0.9, 0.4], object)}, "values must be a numeric array, got object"),
        ({"timestamps": np.array([1.0, math.nan, 2.0])}, "metric 'acc': timestamp must be epoch milliseconds"),
        ({"timestamps": np.array([1.0, 2.0, 2.0**63])}, "metric 'loss': timestamp must be epoch milliseconds"),
        ({"steps": [0, 1, 2]}, "columns 1-d numpy arrays"),
        ({"keys": ["loss", "acc"]}, "keys must be a tuple"),
        ({"run_id": ""}, "run id must be a non-empty string"),
    ],
)
def test_a_malformed_block_is_refused_with_a_clear_error(columns: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameter, match=match):
        block_of(**columns).check()


def test_a_step_past_int64_fails_as_it_does_per_point() -> None:
    steps = np.array([0, 2**63, 1], np.uint64)
    assert message_of(block_of(steps=steps).check) == message_of(lambda: check_step("acc", 2**63))


def test_check_converts_narrow_columns_as_the_per_point_path_does() -> None:
    block = block_of(
        steps=np.array([0, 0, 1], np.int32),
        values=np.array([0.5, 0.25, 3], np.float32),
        timestamps=np.array([1.9, -1.9, 2.0]),
    ).check()
    assert [(p.key, p.step, p.value, p.timestamp) for p in block.to_points()] == [
        ("loss", 0, 0.5, 1),
        ("acc", 0, 0.25, -1),  # a float timestamp is truncated, as int() does
        ("loss", 1, 3.0, 2),
    ]
    assert (block.steps.dtype, block.values.dtype, block.timestamps.dtype) == (np.int64, np.float64, np.int64)


# -- the producer's buffer ----------------------------------------------------------------


def test_the_buffer_assigns_steps_like_the_per_point_path() -> None:
    buf = PointBuffer(RUN)
    buf.log({"loss": 0.5}, timestamp=7)
    buf.log({"loss": 0.4, "acc": 0.9}, timestamp=7)
    buf.log({"acc": 0.95}, step=7, timestamp=7)
    first = buf.take()
    buf.log({"acc": 0.96, "loss": 1}, timestamp=8)  # an int value becomes a float
    second = buf.take()
    assert buf.take() is None
    assert first is not None and second is not None
    got = [(p.key, p.step, p.value) for p in [*first.to_points(), *second.to_points()]]
    assert got == [
        ("loss", 0, 0.5),
        ("loss", 1, 0.4),
        ("acc", 0, 0.9),
        ("acc", 7, 0.95),
        ("acc", 8, 0.96),
        ("loss", 2, 1.0),
    ]
    assert second.keys == ("loss", "acc")  # the buffer's key order, whatever the call's order
    assert buf.last("acc") == 0.96 and buf.last("loss") == 1.0 and buf.last("never") is None


def test_a_block_ships_only_the_keys_it_uses() -> None:
    buf = PointBuffer(RUN)
    buf.log({"a": 1.0, "b": 2.0}, step=0)
    buf.take()
    buf.log({"b": 3.0}, step=1)
    block = buf.take()
    assert block is not None and block.keys == ("b",) and block.check() is block
    assert [(p.key, p.step, p.value) for p in block.to_points()] == [("b", 1, 3.0)]
    assert buf.last("a") == 1.0


def test_a_bad_call_appends_nothing() -> None:
    buf = PointBuffer(RUN)
    buf.log({"a": 1.0}, step=0)
    with pytest.raises(InvalidParameter, match="value must be a number"):
        buf.log({"a": 2.0, "b": "high"}, step=1)
    with pytest.raises(InvalidParameter, match="step must be an integer"):
        buf.log({"a": 2.0}, step=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="key must not be empty"):
        buf.log({"": 2.0})
    buf.log({"a": 3.0, "b": 4.0}, step=INT64_MAX)
    with pytest.raises(InvalidParameter, match="outside the 64-bit integer range"):
        buf.log({"a": 5.0})  # the next step would not fit
    block = buf.take()
    assert block is not None
    assert [(p.key, p.step) for p in block.to_points()] == [("a", 0), ("a", INT64_MAX), ("b", INT64_MAX)]


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(st.tuples(st.lists(st.sampled_from("abc"), unique=True), st.none() | st.integers(-5, 20))))
def test_the_buffer_agrees_with_a_per_point_model(calls: list[tuple[list[str], int | None]]) -> None:
    buf, expected, next_step = PointBuffer(RUN), [], Counter[str]()
    taken: list[MetricPoint] = []
    for n, (keys, step) in enumerate(calls):
        buf.log({k: float(n) for k in keys}, step=step, timestamp=n)
        for k in keys:
            chosen = next_step[k] if step is None else step
            next_step[k] = max(next_step[k], chosen + 1)
            expected.append(MetricPoint(RUN, k, chosen, float(n), n))
        if n % 3 == 2:
            taken += block.to_points() if (block := buf.take()) else []
    taken += block.to_points() if (block := buf.take()) else []
    assert taken == expected


# -- the sink ------------------------------------------------------------------------------


def test_the_sink_counts_points_splits_blocks_and_keeps_order() -> None:
    batches: list[list[object]] = []
    gate = threading.Event()

    def write(batch: Sequence[object]) -> None:
        gate.wait(10)
        batches.append(list(batch))

    points = [MetricPoint(RUN, "k", s, float(s), 0) for s in range(100)]
    block = PointBlock.from_points(points[10:90])
    with MetricSink(write, batch_size=10, max_batch=30, flush_interval_s=3600, max_pending=50) as sink:
        done = threading.Event()

        def produce() -> None:
            sink.put(points[:10])
            sink.put_block(block)  # 80 points, more than max_pending: admitted in parts
            sink.put(points[90:])
            done.set()

        threading.Thread(target=produce, daemon=True).start()
        assert not done.wait(0.2)  # the writer is held: the producer waits for room
        assert sink.pending <= 50
        gate.set()
        assert done.wait(10)
        sink.flush()
    assert max(sum(len(x) if isinstance(x, PointBlock) else 1 for x in b) for b in batches) <= 30
    assert sink.peak_pending <= 50
    flat = [p for b in batches for x in b for p in (x.to_points() if isinstance(x, PointBlock) else [x])]
    assert flat == points


# -- through the store (SQLite and PostgreSQL) ---------------------------------------------


def stored(client: TrackingClient, run_id: str) -> tuple[list[tuple], dict[str, str]]:
    run = client.get_run(run_id)
    history = [
        (m.key, m.step, canon(m.value), m.timestamp)
        for k in sorted(run.metrics)
        for m in client.get_metric_history(run_id, k)
    ]
    summaries = {
        k: repr((canon(s.last), s.last_step, s.last_timestamp, canon(s.min), s.min_step, canon(s.max), s.max_step))
        for k, s in run.metrics.items()
    }
    return history, summaries


def chunks(points: list[MetricPoint], sizes: list[int]) -> list[list[MetricPoint]]:
    out, start = [], 0
    for size in sizes:
        if start < len(points):
            out.append(points[start : start + size])
            start += size
    return out + ([points[start:]] if start < len(points) else [])


@pytest.mark.parametrize("store_uri", STORE_PARAMS, indirect=True)
def test_blocks_store_exactly_what_the_per_point_path_stores(client: TrackingClient, store_uri: str) -> None:
    examples = 60 if store_uri.startswith("sqlite") else 30

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        per_point, by_block = client.start_run("prop"), client.start_run("prop")
        points = data.draw(run_points(by_block.run_id))
        sizes = data.draw(st.lists(st.integers(1, 25), max_size=4))
        client.log_batch(per_point.run_id, points)
        for part in chunks(points, sizes):
            client.log_block(PointBlock.from_points(part))
        client.flush()
        expected, got = stored(client, per_point.run_id), stored(client, by_block.run_id)
        assert got == expected
        first: dict[tuple[str, int], MetricPoint] = {}
        for p in points:
            first.setdefault((p.key, p.step), p)  # the first point of a step wins
        assert sorted(got[0]) == sorted((k, s, canon(p.value), p.timestamp) for (k, s), p in first.items())

    check()


def test_a_batch_mixing_points_and_blocks_is_one_write(client: TrackingClient, store: Store) -> None:
    a, b = client.start_run("e", "a"), client.start_run("e", "b")
    loose = [MetricPoint(a.run_id, "x", s, float(s), 1) for s in range(3)]
    block_a = PointBlock.from_points([MetricPoint(a.run_id, "x", s, -float(s), 2) for s in range(3, 6)])
    block_b = PointBlock.from_points([MetricPoint(b.run_id, k, 0, math.nan, 3) for k in ("n", "é ü \\ 漢字")])
    store.write_metric_points([loose[0], block_a, loose[1], block_b, loose[2]])
    run = client.get_run(a.run_id)
    s = run.metrics["x"]
    assert (s.last, s.last_step, s.min, s.min_step, s.max, s.max_step) == (-5.0, 5, -5.0, 5, 2.0, 2)
    assert [m.value for m in client.get_metric_history(a.run_id, "x")] == [0.0, 1.0, 2.0, -3.0, -4.0, -5.0]
    other = client.get_run(b.run_id).metrics
    assert set(other) == {"n", "é ü \\ 漢字"} and all(math.isnan(v.last) for v in other.values())


def test_repeats_first_wins_and_a_retried_batch_changes_nothing(client: TrackingClient, store: Store) -> None:
    run = client.start_run("e")
    points = [MetricPoint(run.run_id, "a", s % 7, float(s), 100 + s) for s in range(20)]  # steps repeat
    block = PointBlock.from_points(points)
    assert block.has_repeats()
    store.write_metric_points([block])
    before = stored(client, run.run_id)
    assert [(m.step, m.value) for m in client.get_metric_history(run.run_id, "a")] == [(s, float(s)) for s in range(7)]
    store.write_metric_points([block])  # as if the commit went through but its reply was lost
    altered = PointBlock.from_points([p._replace(value=-p.value) for p in points])
    store.write_metric_points([altered, *points[:3]])  # same steps, other values: the first stay
    assert stored(client, run.run_id) == before


@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_a_transient_failure_is_retried_without_duplicates(
    client: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = client.start_run("e")
    real, attempts = sql_store.write_points, Counter[str]()

    def write_then_fail(conn: sa.Connection, batch: Sequence[object], dialect: object) -> None:
        attempts["n"] += 1
        real(conn, batch, dialect)  # type: ignore[arg-type]
        if attempts["n"] == 1:
            raise sa.exc.OperationalError("COPY metrics ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(sql_store, "write_points", write_then_fail)
    client.log_block(PointBlock.from_points([MetricPoint(run.run_id, "m", s, 1.0 / (s + 1), 5) for s in range(300)]))
    client.flush()
    assert attempts["n"] == 2
    assert [m.step for m in client.get_metric_history(run.run_id, "m")] == list(range(300))
    summary = client.get_run(run.run_id).metrics["m"]
    assert (summary.max, summary.max_step, summary.last_step) == (1.0, 0, 299)


def test_a_bad_block_stores_nothing(client: TrackingClient) -> None:
    run = client.start_run("e")
    good = PointBlock.from_points([MetricPoint(run.run_id, "ok", 0, 1.0, 1)])
    bad = block_of(run_id=run.run_id, keys=("ok", ""))
    with pytest.raises(InvalidParameter, match="must not be empty"):
        client.log_block(bad)
    with pytest.raises(InvalidParameter, match="outside the 64-bit integer range"):
        client.end_runs(
            [(run.run_id, RunStatus.FINISHED, None)],
            blocks=[good, block_of(run_id=run.run_id, steps=np.array([0, 2**63, 1], np.uint64))],
        )
    info = client.get_run(run.run_id)
    assert info.status is RunStatus.RUNNING and dict(info.metrics) == {}
    with pytest.raises(RunNotFound):
        client.log_block(block_of(run_id="0" * 32))


def test_end_runs_stores_blocks_with_the_status(client: TrackingClient) -> None:
    run = client.start_run("e")
    block = PointBlock.from_points([MetricPoint(run.run_id, "loss", s, 1.0 / (s + 1), 7) for s in range(10)])
    client.end_runs(
        [(run.run_id, RunStatus.FINISHED, None)], [MetricPoint(run.run_id, "objective", 0, 0.1, 7)], [block]
    )
    info = client.get_run(run.run_id)
    assert info.status is RunStatus.FINISHED and info.metrics["loss"].last_step == 9
    assert info.metrics["objective"].last == 0.1
    with pytest.raises(RunFinished):  # an ended run takes no more points
        client.log_block(block)


def test_auto_steps_continue_after_a_block(client: TrackingClient) -> None:
    run = client.start_run("e")
    client.log_block(PointBlock.from_points([MetricPoint(run.run_id, "a", s, 0.0, 1) for s in (4, 9, 2)]))
    run.log_metric("a", 1.0)
    assert [m.step for m in client.get_metric_history(run.run_id, "a")] == [2, 4, 9, 10]
