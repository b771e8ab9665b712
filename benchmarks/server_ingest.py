"""Metric ingestion through a server: ours over HTTP vs ours direct vs MLflow's tracking server.

Run: ``python benchmarks/server_ingest.py [--points N] [--mlflow-points N] [--writers 32] [--no-postgres]``.
Same machine, same data (100 runs x 10 keys), one run: points/s, ratios, and the server
processes' CPU seconds per million points. Not a timed test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Result, postgres_databases, print_table, timed
from tests.support import server as http_support
from tracking import MetricPoint, connect
from tracking.store.sql_store import SqlStore

RUNS = 100
KEYS = 10
MLFLOW_BATCH = 1_000
KIND = {False: "writers", True: "writer processes"}  # MLflow's documented limit of metrics per log_batch call


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(c) for c in children)
    return total


def points_for(run_ids: list[str], total: int) -> list[list[MetricPoint]]:
    """Per run, ``total / runs`` points over KEYS keys, in step order."""
    steps = total // len(run_ids) // KEYS
    ts = int(time.time() * 1000)
    return [
        [
            MetricPoint(run_id, f"metric_{k}", s, (s * 7 + k) % 101 / 100.0, ts)
            for s in range(steps)
            for k in range(KEYS)
        ]
        for run_id in run_ids
    ]


def concurrently(writers: int, writer: Callable[[int, Any], int], processes: bool = False) -> tuple[float, int]:
    """Seconds from the moment every writer is ready until the last is done, and the points written.

    ``writer(w, barrier)`` prepares (client, runs, points), waits on the barrier, writes, waits again.
    ``processes``: each writer is a process of its own (forked), as separate jobs are; else a thread.
    """
    if not processes:
        barrier: Any = threading.Barrier(writers + 1)
        done: list[int] = []
        threads = [threading.Thread(target=lambda w=w: done.append(writer(w, barrier))) for w in range(writers)]
        for t in threads:
            t.start()
        barrier.wait()
        seconds = timed(barrier.wait)
        for t in threads:
            t.join()
        return seconds, sum(done)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(writers + 1)
    counts = ctx.Queue()
    procs = [ctx.Process(target=lambda w=w: counts.put(writer(w, barrier))) for w in range(writers)]
    for proc in procs:
        proc.start()
    barrier.wait()
    seconds = timed(barrier.wait)
    total = sum(counts.get(timeout=600) for _ in procs)
    for proc in procs:
        proc.join()
    return seconds, total


def ours(uri: str, total: int, writers: int, token: str | None = None, processes: bool = False) -> tuple[float, int]:
    """``writers`` clients (threads), each logging its share of runs with `log_batch` of 1,000 points."""

    def write(w: int, barrier: Any) -> int:
        with connect(uri, token=token) as client:
            runs = [client.start_run("bench", f"w{w}-r{i}").run_id for i in range(max(1, RUNS // writers))]
            batches = points_for(runs, total // writers)
            barrier.wait()
            for points in batches:
                for start in range(0, len(points), MLFLOW_BATCH):
                    client.log_batch(points[start].run_id, metrics=points[start : start + MLFLOW_BATCH])
            client.flush()
            barrier.wait()
        return sum(len(p) for p in batches)

    return concurrently(writers, write, processes)


def mlflow(url: str, total: int, writers: int, processes: bool = False) -> tuple[float, int]:
    """The same with ``MlflowClient.log_batch`` against MLflow's tracking server."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(url).create_experiment(f"bench-{uuid.uuid4().hex[:6]}")

    def write(w: int, barrier: Any) -> int:
        client = MlflowClient(url)
        runs = [client.create_run(experiment).info.run_id for _ in range(max(1, RUNS // writers))]
        batches = [
            [Metric(p.key, p.value, p.timestamp, p.step) for p in points]
            for points in points_for(runs, total // writers)
        ]
        barrier.wait()
        for run_id, metrics in zip(runs, batches, strict=True):
            for start in range(0, len(metrics), MLFLOW_BATCH):
                client.log_batch(run_id, metrics=metrics[start : start + MLFLOW_BATCH])
        barrier.wait()
        return sum(len(m) for m in batches)

    return concurrently(writers, write, processes)


def start_mlflow(store: str, tmp: str) -> tuple[subprocess.Popen[bytes], str]:
    port = http_support.free_port()
    log = open(f"{tmp}/mlflow-server.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store, "--default-artifact-root",
         f"{tmp}/mlflow-artifacts", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: see {tmp}/mlflow-server.log") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    process.wait(30)


def measured(name: str, work: Callable[[], tuple[float, int]], server_pid: int | None) -> Result:
    before = cpu_seconds(server_pid) if server_pid else 0.0
    seconds, n = work()
    cpu = cpu_seconds(server_pid) - before if server_pid else 0.0
    note = f"server CPU {cpu / n * 1e6:.1f} s per 1M points" if server_pid else "in-process"
    return Result(name, n, seconds, note)


def run_backend(label: str, store_uri: str, tmp: str, points: int, writers: int, processes: bool) -> list[Result]:
    owner = SqlStore(store_uri)
    try:
        _, token = owner.auth_store().add_user(f"bench-{uuid.uuid4().hex[:6]}", admin=True)
    finally:
        owner.close()
    results = [measured(f"ours direct ({label}), 1 writer", lambda: ours(store_uri, points, 1), None)]
    with http_support.running(store_uri, Path(tmp) / "artifacts", Path(tmp), command="server") as server:
        results.append(
            measured(f"ours over HTTP ({label}), 1 writer", lambda: ours(server.url, points, 1, token), server.pid)
        )
        results.append(
            measured(
                f"ours over HTTP ({label}), {writers} {KIND[processes]}",
                lambda: ours(server.url, points, writers, token, processes),
                server.pid,
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--mlflow-points", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--processes", action="store_true", help="the concurrent writers are processes, not threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = run_backend("SQLite", f"sqlite:///{tmp}/ours.db", tmp, args.points, args.writers, args.processes)
        if not args.no_mlflow:
            process, url = start_mlflow(f"sqlite:///{tmp}/mlflow.db", tmp)
            try:
                results.append(
                    measured(
                        "mlflow server (SQLite), 1 writer", lambda: mlflow(url, args.mlflow_points, 1), process.pid
                    )
                )
                results.append(
                    measured(
                        f"mlflow server (SQLite), {args.writers} {KIND[args.processes]}",
                        lambda: mlflow(url, args.mlflow_points, args.writers, args.processes),
                        process.pid,
                    )
                )
            finally:
                stop(process)
        print_table("SQLite store: ingest through a server", results, "points", "mlflow server (SQLite), 1 writer")
        direct = results[0]
        for r in results[1:3]:
            print(f"  {r.name}: {r.rate / direct.rate:.2f} x ours direct")
        if not args.no_postgres:
            with postgres_databases() as make:
                if make is not None:
                    pg_tmp = f"{tmp}/pg"
                    os.makedirs(pg_tmp)
                    pg = run_backend("PostgreSQL", make(), pg_tmp, args.points, args.writers, args.processes)
                    print_table("PostgreSQL store: ingest through a server", pg, "points", pg[0].name)


if __name__ == "__main__":
    main()
