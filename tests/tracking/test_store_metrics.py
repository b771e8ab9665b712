"""Contract: step-wise metrics, auto-steps, one value per step, exact NaN/±inf, and the per-key summary."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracking
from tests.conftest import STORE_PARAMS
from tests.support.state import canon, metric_key, same_float
from tracking import Metric, MetricPoint, TrackingClient
from tracking.store import Store

INF = math.inf
NAN = math.nan


def values(history: list[Metric]) -> list[tuple[int, str]]:
    return [(m.step, canon(m.value)) for m in history]


def assert_summary_matches_history(client: TrackingClient, run_id: str) -> None:
    """The stored summary of every key equals the one recomputed from the stored history."""
    run = client.get_run(run_id)
    for key, summary in run.metrics.items():
        history = client.get_metric_history(run_id, key)
        assert history, key
        last = max(history, key=lambda m: m.step)
        assert (summary.last_step, summary.last_timestamp) == (last.step, last.timestamp)
        assert same_float(summary.last, last.value)
        finite = [m for m in history if not math.isnan(m.value)]
        if not finite:
            assert math.isnan(summary.min) and math.isnan(summary.max)
            continue
        assert summary.min == min(m.value for m in finite)
        assert summary.max == max(m.value for m in finite)
        at = {m.step: m.value for m in history}
        assert at[summary.min_step] == summary.min
        assert at[summary.max_step] == summary.max


def test_metric_points_are_stored_with_step_value_and_timestamp(client: TrackingClient) -> None:
    run = client.start_run("e")
    before = int(time.time() * 1000)
    run.log_metric("loss", 0.5, step=1)
    run.log_metric("loss", 0.25, step=2, timestamp=1_700_000_000_000)
    run.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
    history = client.get_metric_history(run.run_id, "loss")
    assert [(m.key, m.step, m.value) for m in history] == [("loss", 1, 0.5), ("loss", 2, 0.25)]
    assert before <= history[0].timestamp <= int(time.time() * 1000)
    assert history[1].timestamp == 1_700_000_000_000
    assert values(client.get_metric_history(run.run_id, "acc")) == [(2, "0.9")]
    assert client.get_metric_history(run.run_id, "never") == []


def test_step_none_takes_the_next_step_per_key(client: TrackingClient) -> None:
    run = client.start_run("e")
    for v in (1.0, 2.0, 3.0):
        run.log_metric("a", v)
    run.log_metric("b", 9.0)
    run.log_metric("a", 10.0, step=10)
    run.log_metric("a", 11.0)
    run.log_metrics({"a": 12.0, "b": 8.0})
    assert values(client.get_metric_history(run.run_id, "a")) == [
        (0, "1.0"),
        (1, "2.0"),
        (2, "3.0"),
        (10, "10.0"),
        (11, "11.0"),
        (12, "12.0"),
    ]
    assert values(client.get_metric_history(run.run_id, "b")) == [(0, "9.0"), (1, "8.0")]


def test_auto_steps_continue_after_attaching_from_a_new_client(
    client: TrackingClient,
    store_uri: str,
    artifact_root,  # type: ignore[no-untyped-def]
) -> None:
    run = client.start_run("e")
    for v in range(3):
        run.log_metric("a", float(v))
    run.log_metric("b", 1.0, step=41)
    client.flush()
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as other:
        attached = other.attach(run.run_id)
        attached.log_metric("a", 3.0)
        attached.log_metric("b", 2.0)
        attached.log_metric("c", 1.0)
        other.flush()
    assert [m.step for m in client.get_metric_history(run.run_id, "a")] == [0, 1, 2, 3]
    assert [m.step for m in client.get_metric_history(run.run_id, "b")] == [41, 42]
    assert [m.step for m in client.get_metric_history(run.run_id, "c")] == [0]


def test_auto_step_after_an_explicit_step_on_an_attached_run_never_hits_a_stored_step(
    client: TrackingClient,
    store_uri: str,
    artifact_root,  # type: ignore[no-untyped-def]
) -> None:
    run = client.start_run("e")
    for v in range(10):
        run.log_metric("a", float(v))
    client.flush()
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as other:
        attached = other.attach(run.run_id)
        attached.log_metric("a", 100.0, step=2)  # a late point for an old step: ignored, first value kept
        attached.log_metric("a", 200.0)  # must go after the stored steps, not to step 3
    history = client.get_metric_history(run.run_id, "a")
    assert values(history)[2] == (2, "2.0")
    assert values(history)[-1] == (10, "200.0")
    assert len(history) == 11


def test_a_point_logged_twice_at_one_step_keeps_one_value(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_metric("a", 1.0, step=5)
    run.log_metric("a", 9.0, step=5)  # same batch
    client.flush()
    run.log_metric("a", -9.0, step=5)  # a later batch
    run.log_metric("a", 2.0, step=6)
    history = client.get_metric_history(run.run_id, "a")
    assert values(history) == [(5, "1.0"), (6, "2.0")]
    assert_summary_matches_history(client, run.run_id)
    summary = client.get_run(run.run_id).metrics["a"]
    assert (summary.min, summary.max) == (1.0, 2.0)


def test_a_retried_batch_never_duplicates_or_changes_the_summary(client: TrackingClient, store: Store) -> None:
    run = client.start_run("e")
    points = [MetricPoint(run.run_id, "a", s, float(s % 7), 1000 + s) for s in range(50)]
    store.write_metric_points(points)
    before = client.get_run(run.run_id).metrics["a"]
    store.write_metric_points(points)  # as if the commit went through but its reply was lost
    altered = [p._replace(value=p.value + 100.0) for p in points]
    store.write_metric_points(altered)  # same steps, other values: the first values stay
    assert len(client.get_metric_history(run.run_id, "a")) == 50
    assert client.get_run(run.run_id).metrics["a"] == before
    assert_summary_matches_history(client, run.run_id)


def test_nan_and_infinities_round_trip_exactly(client: TrackingClient) -> None:
    run = client.start_run("e")
    for step, v in enumerate([NAN, INF, -INF, 0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1]):
        run.log_metric("x", v, step=step)
    history = client.get_metric_history(run.run_id, "x")
    assert [canon(m.value) for m in history] == [
        "nan",
        "inf",
        "-inf",
        "0.0",
        "0.0",
        "5e-324",
        "1.7976931348623157e+308",
        "0.1",
    ]
    assert math.isnan(history[0].value) and history[1].value == INF and history[2].value == -INF
    summary = client.get_run(run.run_id).metrics["x"]
    assert (summary.min, summary.min_step, summary.max, summary.max_step) == (-INF, 2, INF, 1)
    assert summary.last == 0.1


def test_metric_values_accept_ints_and_numpy_numbers(client: TrackingClient) -> None:
    np = pytest.importorskip("numpy")
    run = client.start_run("e")
    run.log_metrics({"i": 3, "f32": np.float32(0.5), "i64": np.int64(7), "f64": np.float64("nan")}, step=0)
    got = {k: repr(s.last) for k, s in client.get_run(run.run_id).metrics.items()}
    assert got == {"i": "3.0", "f32": "0.5", "i64": "7.0", "f64": "nan"}


def test_summary_tracks_last_min_max_and_ignores_nan(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_metric("loss", NAN, step=0)
    client.flush()
    first = client.get_run(run.run_id).metrics["loss"]
    assert math.isnan(first.last) and math.isnan(first.min) and math.isnan(first.max)
    for step, v in [(1, 3.0), (2, 1.0), (3, NAN), (4, 2.0)]:
        run.log_metric("loss", v, step=step)
        client.flush()  # one batch per point: the summary is updated across batches
    run.log_metric("loss", 0.5, step=-1)  # an early step never becomes "last"
    s = client.get_run(run.run_id).metrics["loss"]
    assert (s.last, s.last_step) == (2.0, 4)
    assert (s.min, s.min_step, s.max, s.max_step) == (0.5, -1, 3.0, 1)
    assert s.best("minimize") == 0.5 and s.best_step("maximize") == 1
    assert client.get_run(run.run_id).metric("loss") == 2.0
    assert_summary_matches_history(client, run.run_id)


def test_last_value_can_be_nan(client: TrackingClient) -> None:
    run = client.start_run("e")
    run.log_metrics({"a": 1.0}, step=0)
    run.log_metrics({"a": NAN}, step=1)
    s = client.get_run(run.run_id).metrics["a"]
    assert math.isnan(s.last) and s.last_step == 1 and s.max == 1.0


def test_log_batch_keeps_given_steps_and_timestamps(client: TrackingClient) -> None:
    run = client.start_run("e")
    client.log_batch(
        run.run_id,
        metrics=[Metric("a", 1.5, 3, 111), MetricPoint("ignored-run-id", "a", 4, 2.5, 222)],
        params={"p": 1},
        tags={"t": "v"},
    )
    history = client.get_metric_history(run.run_id, "a")
    assert [(m.step, m.value, m.timestamp) for m in history] == [(3, 1.5, 111), (4, 2.5, 222)]
    assert dict(run.info.params) == {"p": "1"} and dict(run.info.tags) == {"t": "v"}


def test_histories_of_many_runs_and_keys(client: TrackingClient) -> None:
    runs = [client.start_run("e") for _ in range(3)]
    for i, run in enumerate(runs):
        run.log_metrics({"a": float(i), "b": float(-i)}, step=0)
    client.flush()
    out = client.metric_histories([r.run_id for r in runs], ["a"])
    assert {rid: [m.value for m in by_key["a"]] for rid, by_key in out.items()} == {
        r.run_id: [float(i)] for i, r in enumerate(runs)
    }


# -- property: any float at any step round-trips, and the summary matches the history ------

FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
POINTS = st.lists(st.tuples(st.integers(min_value=-(2**63), max_value=2**63 - 1), FLOATS), min_size=1, max_size=40)


def _check_round_trip(client: TrackingClient, points: list[tuple[int, float]]) -> None:
    run = client.start_run("prop")
    first: dict[int, float] = {}
    for step, value in points:
        run.log_metric("m", value, step=step, timestamp=step % 1_000_000)
        first.setdefault(step, value)
    history = client.get_metric_history(run.run_id, "m")
    assert [(m.step, canon(m.value)) for m in history] == [(s, canon(first[s])) for s in sorted(first)]
    assert [metric_key(m)[3] for m in history] == [s % 1_000_000 for s in sorted(first)]
    assert_summary_matches_history(client, run.run_id)
    run.end()


@pytest.mark.parametrize("store_uri", STORE_PARAMS, indirect=True)
def test_any_float_at_any_step_round_trips(client: TrackingClient, store_uri: str) -> None:
    examples = 100 if store_uri.startswith("sqlite") else 30

    # One client serves every example: each example logs into a run of its own.
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(points=POINTS)
    def check(points: list[tuple[int, float]]) -> None:
        _check_round_trip(client, points)

    check()


def test_writers_racing_on_one_run_store_each_step_once_with_a_true_summary(
    client: TrackingClient, store: Store
) -> None:
    """Several connections write overlapping steps of the same keys at once (a run written
    from two places): no deadlock, one value per step, and the summary agrees with the history."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from tracking.point_block import PointBlock

    run = client.start_run("e")
    keys = ("a", "b", "c", "d")
    writers, batches, width = 4, 15, 12

    def write(writer: int) -> None:
        order = keys[writer % len(keys) :] + keys[: writer % len(keys)]  # each writer its own key order
        for batch in range(batches):
            steps = np.arange(batch * 8, batch * 8 + width)  # overlaps the next batch and other writers
            block = PointBlock(
                run.run_id,
                order,
                np.repeat(np.arange(len(order), dtype=np.uint8), len(steps)),
                np.tile(steps, len(order)),
                np.tile(writer + steps / 1000.0, len(order)),
                np.full(len(steps) * len(order), 1_000 + batch),
            )
            store.write_metric_points([block])

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))  # re-raises any writer's error

    top = (batches - 1) * 8 + width - 1
    for key in keys:
        history = client.get_metric_history(run.run_id, key)
        assert [m.step for m in history] == list(range(top + 1)), key
        assert all(round(m.value - m.step / 1000.0) in range(writers) for m in history)
    assert_summary_matches_history(client, run.run_id)


def test_an_auto_step_past_int64_is_refused_at_the_call_and_costs_no_other_run_a_point(
    client: TrackingClient,
) -> None:
    other = client.start_run("e")
    other.log_metric("a", 1.0)  # in the sink's queue with the bad run's points
    run = client.start_run("e")
    run.log_metric("a", 1.0, step=2**63 - 1)
    with pytest.raises(tracking.InvalidParameter, match="step"):
        run.log_metric("a", 2.0)  # the next automatic step would not fit in int64
    with pytest.raises(tracking.InvalidParameter, match="step"):
        run.log_metrics({"b": 1.0, "a": 2.0})  # all or nothing: "b" is not logged either
    other.log_metric("a", 2.0)
    client.flush()
    assert values(client.get_metric_history(other.run_id, "a")) == [(0, "1.0"), (1, "2.0")]
    assert values(client.get_metric_history(run.run_id, "a")) == [(2**63 - 1, "1.0")]
    assert client.get_metric_history(run.run_id, "b") == []


class _Refusing:
    """A store that refuses any batch of points holding one run's: a fault no valid API call causes
    (a database rejecting a value), put in front of the real store."""

    def __init__(self, inner: object, refused: list[str]) -> None:
        self._inner = inner
        self._refused = refused

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def write_metric_points(self, batch: list) -> None:  # type: ignore[type-arg]
        if any(p.run_id in self._refused for p in batch):
            raise tracking.StoreError("value out of range (a refused point)")
        self._inner.write_metric_points(batch)  # type: ignore[attr-defined]


def test_a_point_the_database_refuses_costs_only_its_own_run_its_points(client: TrackingClient) -> None:
    from tracking.store import open_store

    refused: list[str] = []
    faulty = tracking.TrackingClient(store=_Refusing(open_store(client._store.uri), refused), sink_writers=1)
    try:
        good, bad = faulty.start_run("e"), faulty.start_run("e")
        refused.append(bad.run_id)
        good.log_metric("a", 1.0, step=0)
        bad.log_metric("a", 1.0, step=0)  # one batch holds both runs' points
        with pytest.raises(tracking.SinkError) as info:
            faulty.flush()
        assert info.value.run_ids == (bad.run_id,)
        assert values(faulty.get_metric_history(good.run_id, "a")) == [(0, "1.0")]
    finally:
        faulty.close()
