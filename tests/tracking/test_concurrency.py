"""Several processes writing one store at once: every point stored exactly once, no lock error surfaces."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

import tracking
from tests.support import workers

N_PROCESSES = 4
N_POINTS = 20_000


def run_in_processes(target: Callable[..., object], args_for: Callable[[int], tuple[object, ...]]) -> list[object]:
    """Run ``target(barrier, *args_for(i))`` in N spawned processes at once; their results in order."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=workers.report, args=(results, i, target, barrier, *args_for(i))) for i in range(N_PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        got = dict(results.get(timeout=240) for _ in procs)
    finally:
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * N_PROCESSES
    return [got[i] for i in range(N_PROCESSES)]


def test_processes_sharing_a_new_store_store_every_point_exactly_once(fresh_store_uri: str, tmp_path: Path) -> None:
    """Four processes open one new store, create one experiment and log 20,000 points each, at once."""
    artifacts = str(tmp_path / "artifacts")
    outcome = run_in_processes(
        workers.open_create_and_log, lambda i: (fresh_store_uri, artifacts, "shared", f"w{i}", N_POINTS)
    )
    errors = [o for o in outcome if isinstance(o, str)]
    assert errors == [], errors[0] if errors else ""  # in particular, no "database is locked" surfaced
    experiment_ids = {o[0] for o in outcome}  # type: ignore[index]
    run_ids = [o[1] for o in outcome]  # type: ignore[index]
    assert len(experiment_ids) == 1, "concurrent get-or-create made more than one experiment"

    with tracking.connect(fresh_store_uri, artifacts=artifacts) as client:
        assert [(e.experiment_id, e.name) for e in client.list_experiments()] == [(*experiment_ids, "shared")]
        # Every stored point comes back from the history: a duplicate would show as a repeated step.
        keys = [f"w{i}" for i in range(N_PROCESSES)]
        histories = client.metric_histories(run_ids, keys)
        assert {run_id: sorted(by_key) for run_id, by_key in histories.items()} == {
            run_ids[i]: [f"w{i}"] for i in range(N_PROCESSES)
        }
        for i, run_id in enumerate(run_ids):
            history = histories[run_id][f"w{i}"]
            assert [(m.step, m.value) for m in history] == [(s, float(s)) for s in range(N_POINTS)]
        top = float(N_POINTS - 1)
        for i, run in enumerate(client.get_runs(run_ids)):
            s = run.metrics[f"w{i}"]
            assert run.status is tracking.RunStatus.FINISHED
            assert (s.last, s.last_step, s.min, s.min_step, s.max, s.max_step) == (
                top,
                N_POINTS - 1,
                0.0,
                0,
                top,
                N_POINTS - 1,
            )


def test_processes_logging_step_none_into_one_attached_run_lose_and_repeat_nothing(
    store_uri: str, tmp_path: Path
) -> None:
    """Four processes attach to one run and log key x with step=None at once: every point is
    stored, no step is given twice (the store keeps the first point of a step: a repeated step
    was a silently dropped point), and each process's own points keep their order."""
    artifacts = str(tmp_path / "artifacts")
    with tracking.connect(store_uri, artifacts=artifacts) as client:
        run = client.start_run("attached", name="shared")
        run.log_metric("x", -1.0)  # the creator logs too, and keeps its block while the others write
        client.flush()
        outcome = run_in_processes(
            workers.attach_and_log_auto_steps, lambda i: (store_uri, artifacts, run.run_id, N_POINTS // 4)
        )
        errors = [o for o in outcome if isinstance(o, str)]
        assert errors == [], errors[0] if errors else ""
        run.log_metric("x", -2.0)
        client.end_run(run.run_id)
        history = client.get_metric_history(run.run_id, "x")
    steps = [m.step for m in history]
    assert len(steps) == len(set(steps))
    logged = [v for values in outcome for v in values]  # type: ignore[union-attr]
    assert sorted(m.value for m in history) == sorted([-2.0, -1.0, *map(float, logged)])
    by_step = {m.value: m.step for m in history}
    for values in outcome:
        assert [by_step[float(v)] for v in values] == sorted(by_step[float(v)] for v in values)  # type: ignore[union-attr]
    assert history[0].value == -1.0 and by_step[-2.0] > max(by_step.values()) - 1
