"""Functions run in child processes by the concurrency tests (importable by a spawned interpreter)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import tracking

BARRIER_TIMEOUT_S = 120


def report(results: Queue, index: int, target: Callable[..., object], barrier: Barrier, *args: object) -> None:
    """Process entry point: put ``(index, target(barrier, *args))`` on ``results``, or the traceback text."""
    try:
        outcome = target(barrier, *args)
    except BaseException:
        outcome = traceback.format_exc()
        barrier.abort()  # release the others now rather than at their barrier timeout
    results.put((index, outcome))


def open_create_and_log(
    barrier: Barrier, uri: str, artifacts: str, experiment: str, key: str, n_points: int
) -> tuple[int, str]:
    """Together with the other processes: open the store, get-or-create ``experiment``, then
    log ``n_points`` of ``key`` into a new run through the sink. Returns (experiment id, run id)."""
    barrier.wait(BARRIER_TIMEOUT_S)
    with tracking.connect(uri, artifacts=artifacts, batch_size=500) as client:
        barrier.wait(BARRIER_TIMEOUT_S)
        experiment_id = client.get_or_create_experiment(experiment).experiment_id
        barrier.wait(BARRIER_TIMEOUT_S)
        with client.start_run(experiment, key) as run:
            for step in range(n_points):
                run.log_metric(key, float(step), step=step)
        return experiment_id, run.run_id


def attach_and_log_auto_steps(barrier: Barrier, uri: str, artifacts: str, run_id: str, n_points: int) -> list[int]:
    """Attach to ``run_id`` and log ``n_points`` of key ``x`` with ``step=None``, values unique to
    this process (its pid times 1e6 plus a counter); returns the values logged."""
    import os

    with tracking.connect(uri, artifacts=artifacts) as client:
        run = client.attach(run_id)
        barrier.wait(timeout=120)
        values = [os.getpid() * 1_000_000 + i for i in range(n_points)]
        for value in values:
            run.log_metric("x", float(value))
            if value % 997 == 0:
                client.flush()  # a flush hands the unused rest of each block back, mid-stream
        client.flush()
    return values
