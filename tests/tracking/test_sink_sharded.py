"""The sharded sink: several writers, each run on one of them, one shared memory bound."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import STORE_PARAMS
from tests.tracking.test_sink import WAIT_S, Recorder, points, wait_until
from tracking import MetricPoint, TrackingClient
from tracking.point_block import PointBlock
from tracking.sink import ShardedSink
from tracking.store import Store


def test_each_run_keeps_its_order_and_every_point_is_written_once() -> None:
    recorder = Recorder()
    runs = [f"run-{i}" for i in range(12)]
    with ShardedSink(recorder, 3, batch_size=7, max_batch=20, flush_interval_s=3600, max_pending=300) as sink:
        for start in range(0, 60, 5):
            for run in runs:
                sink.put(points(5, run_id=run, start=start))
        sink.flush()
        by_run: dict[str, list[MetricPoint]] = {}
        for point in recorder.written:
            by_run.setdefault(point.run_id, []).append(point)
    assert {run: [p.step for p in ps] for run, ps in by_run.items()} == {run: list(range(60)) for run in runs}
    # a batch never mixes shards: all of one run's points went through one writer
    shard_of = {run: next(i for i, s in enumerate(sink.shards) if s is sink._shard(run)) for run in runs}
    for batch in recorder.batches:
        assert len({shard_of[p.run_id] for p in batch}) == 1


def test_blocks_and_mixed_puts_go_to_their_runs_shard() -> None:
    recorder = Recorder()
    with ShardedSink(recorder, 2, batch_size=1, max_batch=100, flush_interval_s=3600, max_pending=1_000) as sink:
        sink.put_block(PointBlock.from_points(points(4, run_id="a", key="x")))
        sink.put([*points(2, run_id="a", key="y"), *points(3, run_id="b", key="y")])
        sink.flush()
    written = sorted(
        p for item in recorder.written for p in (item.to_points() if isinstance(item, PointBlock) else [item])
    )
    assert written == sorted([*points(4, run_id="a", key="x"), *points(2, run_id="a", key="y"), *points(3, "b", "y")])


def test_the_memory_bound_is_shared_out_and_holds() -> None:
    gate = threading.Event()
    slow = Recorder(gate)
    sink = ShardedSink(slow, 2, batch_size=10, max_batch=10, flush_interval_s=3600, max_pending=40)
    assert sink.max_pending == 40 and all(s.max_pending == 20 for s in sink.shards)
    produced = threading.Event()
    run = "only-run"  # one run: one shard, which holds at most its share

    def produce() -> None:
        for i in range(100):
            sink.put(points(1, run_id=run, start=i))
        produced.set()

    threading.Thread(target=produce, daemon=True).start()
    wait_until(lambda: sink.pending == 20)
    assert not produced.wait(0.2), "the producer should be blocked at its shard's share"
    gate.set()
    assert produced.wait(WAIT_S)
    sink.close()
    assert [p.step for p in slow.written] == list(range(100))
    assert sink.peak_pending <= 40


def test_needs_two_shards() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ShardedSink(Recorder(), 1)


@pytest.mark.parametrize("store_uri", STORE_PARAMS, indirect=True)
def test_a_client_shards_its_sink_as_its_store_says(client: TrackingClient, store: Store, store_uri: str) -> None:
    # The store says how many writers gain from writing at once; the client's sink has as many.
    expected = 1 if store_uri.startswith("sqlite") else 3 if store_uri.startswith("http") else 2
    assert store.sink_writers == client.sink_stats().writers == expected
    runs = [client.start_run(experiment="shards") for _ in range(6)]
    for run in runs:
        client.log_block(PointBlock.from_points(points(50, run_id=run.run_id, key="loss")))
    client.flush()
    for run in runs:
        assert [m.step for m in client.get_metric_history(run.run_id, "loss")] == list(range(50))
