"""Group commit: concurrent point batches share one transaction, and none is lost or failed by another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import tracking
from tests.support.polling import wait_until
from tracking import MetricPoint
from tracking.store.group_commit import GroupCommit
from tracking.store.sql_store import SqlStore


def queued_then_written(group: GroupCommit[list[int]], submit: Callable[[int], object], n: int) -> None:
    """``submit(i)`` for i < n from n threads while a write is in progress; then let it end."""
    group._turn.acquire()  # a write in progress: everyone who arrives now has to queue
    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(group._queue) == n)
    group._turn.release()
    for thread in threads:
        thread.join(30)


def test_batches_queued_while_one_writes_are_written_together_in_order() -> None:
    written: list[list[list[int]]] = []
    group: GroupCommit[list[int]] = GroupCommit(written.append)
    queued_then_written(group, lambda i: group.submit([i]), 8)
    assert len(written) == 1  # one transaction for all eight
    assert sorted(b[0] for b in written[0]) == list(range(8))
    group.submit([99])  # alone: written at once, in a group of its own
    assert written[-1] == [[99]]


def test_a_failing_batch_fails_only_its_own_caller() -> None:
    written: list[list[int]] = []

    def write(batches: list[list[int]]) -> None:
        if any(-1 in b for b in batches):
            raise ValueError("bad batch")
        written.extend(batches)

    group: GroupCommit[list[int]] = GroupCommit(write)
    errors: dict[int, BaseException] = {}

    def submit(i: int) -> None:
        try:
            group.submit([-1] if i == 3 else [i])
        except ValueError as exc:
            errors[i] = exc

    queued_then_written(group, submit, 6)
    assert list(errors) == [3]
    assert sorted(b[0] for b in written) == [0, 1, 2, 4, 5]


def test_threads_writing_one_sqlite_store_at_once_store_every_point_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with tracking.connect(uri) as client:
        runs = [client.start_run("group", name=f"r{i}").run_id for i in range(16)]
    store = SqlStore(uri)
    try:

        def write(run_id: str) -> None:
            for start in range(0, 2_000, 100):  # 20 small batches, as a server's requests are
                store.write_metric_points([MetricPoint(run_id, "x", s, float(s), 1) for s in range(start, start + 100)])

        threads = [threading.Thread(target=write, args=(r,)) for r in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        histories = store.metric_histories(runs, ["x"])
    finally:
        store.close()
    for run_id in runs:
        assert [(m.step, m.value) for m in histories[run_id]["x"]] == [(s, float(s)) for s in range(2_000)]


@pytest.mark.parametrize("items", [1, 5_000])
def test_a_group_never_grows_past_its_bound_but_takes_one_oversized_batch(items: int) -> None:
    written: list[list[list[int]]] = []
    group: GroupCommit[list[int]] = GroupCommit(written.append)
    group._turn.acquire()
    big = threading.Thread(target=group.submit, args=([0] * items,))
    big.start()
    wait_until(lambda: len(group._queue) == 1)
    small = [threading.Thread(target=group.submit, args=([0] * 1_500,)) for _ in range(2)]
    for thread in small:
        thread.start()
    wait_until(lambda: len(group._queue) == 3)
    group._turn.release()
    for thread in (big, *small):
        thread.join(30)
    assert sum(len(g) for g in written) == 3
    assert all(len(g) == 1 or sum(map(len, g)) <= 2_000 for g in written)
