"""Metric ingestion: our sink vs raw SQLite/psycopg and MLflow, on the same 1,000,000 points.

Run: ``python benchmarks/ingest.py [--points N] [--mlflow-points N] [--no-postgres]``.
Prints points/s and ratios, and what each step of the point-block path costs the receiving
process per point; not a timed test.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Result, postgres_databases, print_table, timed
from tracking import MetricPoint, MetricSink, connect
from tracking.point_block import PointBlock, blocks_from_points
from tracking.store import pg_copy

RUNS = 100
KEYS = 10
BLOCK = 1_000  # points per block: what a trial's buffer sends at its size limit
BATCH_BLOCKS = 20  # blocks per store write: the sink's max_batch of 20,000 points


def make_points(run_ids: list[str], total: int) -> list[tuple[str, str, int, float, int]]:
    per_run = total // len(run_ids)
    steps = per_run // KEYS
    ts = int(time.time() * 1000)
    return [
        (run_id, f"metric_{k}", step, (step * 7 + k) % 101 / 100.0, ts)
        for run_id in run_ids
        for step in range(steps)
        for k in range(KEYS)
    ]


def raw_sqlite(path: str, rows: list[tuple]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE metrics (run_id TEXT, key TEXT, step INTEGER, value REAL, timestamp INTEGER,"
        " PRIMARY KEY (run_id, key, step))"
    )

    def work() -> None:
        with conn:
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)

    seconds = timed(work)
    conn.close()
    return seconds


def ours_bulk(uri: str, artifacts: str, total: int) -> tuple[float, int]:
    """Points handed to the sink in batches, as the sweep driver does with worker batches."""
    with connect(uri, artifacts=artifacts) as client:
        runs = [client.start_run("bench", f"r{i}") for i in range(RUNS)]
        rows = make_points([r.run_id for r in runs], total)
        points = [MetricPoint(*row) for row in rows]

        def work() -> None:
            for start in range(0, len(points), 10_000):
                client._sink.put(points[start : start + 10_000])  # the sink itself, as the driver feeds it
            client.flush()

        seconds = timed(work)
        stored = client._store.count_runs()
        assert stored >= RUNS
        return seconds, len(points)


def ours_per_step(uri: str, artifacts: str, total: int) -> tuple[float, int]:
    """``run.log_metrics({10 keys}, step)`` once per step: the path a training loop uses."""
    with connect(uri, artifacts=artifacts) as client:
        runs = [client.start_run("bench", f"s{i}") for i in range(RUNS)]
        steps = total // RUNS // KEYS
        names = [f"metric_{k}" for k in range(KEYS)]

        def work() -> None:
            for run in runs:
                for step in range(steps):
                    run.log_metrics({n: step * 0.5 for n in names}, step=step)
            client.flush()

        return timed(work), RUNS * steps * KEYS


def make_blocks(run_ids: list[str], total: int) -> list[PointBlock]:
    """The points of `make_points` as blocks of `BLOCK` points, each of one run."""
    points = [MetricPoint(*row) for row in make_points(run_ids, total)]
    return [b for start in range(0, len(points), BLOCK) for b in blocks_from_points(points[start : start + BLOCK])]


def ours_blocks(uri: str, artifacts: str, total: int) -> tuple[float, int]:
    """Pickled blocks of 1,000 points, unpickled and handed to `log_block`: the coordinator's path."""
    with connect(uri, artifacts=artifacts) as client:
        runs = [client.start_run("bench", f"b{i}") for i in range(RUNS)]
        payloads = [pickle.dumps(b, protocol=5) for b in make_blocks([r.run_id for r in runs], total)]

        def work() -> None:
            for data in payloads:
                client.log_block(pickle.loads(data))
            client.flush()

        return timed(work), total // RUNS // KEYS * KEYS * RUNS


def receiver_costs(uri: str, artifacts: str, total: int) -> list[tuple[str, float]]:
    """Microseconds per point of each step the receiving process takes, measured one at a time."""
    with connect(uri, artifacts=artifacts) as client:
        runs = [client.start_run("bench", f"c{i}") for i in range(RUNS)]
        payloads = [pickle.dumps(b, protocol=5) for b in make_blocks([r.run_id for r in runs], total)]
        n = total // RUNS // KEYS * KEYS * RUNS
        received: list[PointBlock] = []
        costs = [("unpickle a block", timed(lambda: received.extend(pickle.loads(d) for d in payloads)))]
        costs.append(("check()", timed(lambda: [b.check() for b in received])))
        # log_block's bookkeeping: per-key max steps (groups the block by key, kept for the writer).
        costs.append(("group by key + max steps", timed(lambda: [b.max_steps() for b in received])))
        with MetricSink(lambda batch: None, max_pending=2 * n) as sink:
            costs.append(("sink put_block", timed(lambda: [sink.put_block(b) for b in received])))
        costs.append(("summaries", timed(lambda: [b.summaries() for b in received])))
        batches = [received[i : i + BATCH_BLOCKS] for i in range(0, len(received), BATCH_BLOCKS)]
        if client._store.dialect == "postgresql":
            # Any series ids will do: encoding costs the same whatever their values.
            parts = [[(b, np.arange(1, len(b.keys) + 1), None) for b in x] for x in batches]
            costs.append(("binary COPY encode", timed(lambda: [list(pg_copy.encode(p)) for p in parts])))
        write = timed(lambda: [client._store.write_metric_points(x) for x in batches])
        costs.append((f"store write ({client._store.dialect}: summaries, encode, insert)", write))
        return [(name, seconds / n * 1e6) for name, seconds in costs]


def print_costs(title: str, costs: list[tuple[str, float]]) -> None:
    print(f"\n{title}")
    for name, us in costs:
        print(f"  {name:<40} {us:>7.3f} us/point")
    head = sum(us for name, us in costs[:4])
    print(f"  {'unpickle + check + group + put':<40} {head:>7.3f} us/point (bar: < 0.5)")


def mlflow_batch(path: str, total: int) -> tuple[float, int]:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    exp = client.create_experiment(f"bench-{uuid.uuid4().hex[:6]}")
    run_ids = [client.create_run(exp).info.run_id for _ in range(RUNS)]
    rows = make_points(run_ids, total)
    by_run: dict[str, list] = {}
    for run_id, key, step, value, ts in rows:
        by_run.setdefault(run_id, []).append(Metric(key, value, ts, step))
    batches = [  # MLflow caps log_batch at 1,000 metrics per call
        (run_id, metrics[start : start + 1000])
        for run_id, metrics in by_run.items()
        for start in range(0, len(metrics), 1000)
    ]

    def work() -> None:
        for run_id, metrics in batches:
            client.log_batch(run_id, metrics=metrics)

    return timed(work), sum(len(m) for _, m in batches)


def mlflow_per_call(path: str, total: int) -> tuple[float, int]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    exp = client.create_experiment(f"bench-{uuid.uuid4().hex[:6]}")
    run_id = client.create_run(exp).info.run_id

    def work() -> None:
        for i in range(total):
            client.log_metric(run_id, "m", i * 0.5, step=i)

    return timed(work), total


def _timed_load(uri: str, table: str, load: Callable[[Any], None]) -> float:
    """Seconds ``load(connection)`` takes to fill a new table made by the ``table`` DDL (psycopg, committed)."""
    import psycopg

    with psycopg.connect(uri.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(table)
        conn.commit()
        start = time.perf_counter()
        load(conn)
        conn.commit()
        return time.perf_counter() - start


def raw_psycopg(uri: str, rows: list[tuple]) -> float:
    def load(conn: Any) -> None:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO raw_metrics VALUES (%s, %s, %s, %s, %s)", rows)

    return _timed_load(
        uri,
        "CREATE TABLE raw_metrics (run_id text, key text, step bigint, value double precision,"
        " timestamp bigint, PRIMARY KEY (run_id, key, step))",
        load,
    )


def raw_copy_binary(uri: str, blocks: list[PointBlock]) -> float:
    """The server's own speed: pre-encoded binary COPY, 20,000 points per transaction, into a
    table of our layout (points keyed by (series id, step)), series ids handed out up front."""
    series: dict[tuple[str, str], int] = {}
    ids = [np.array([series.setdefault((b.run_id, k), len(series) + 1) for k in b.keys]) for b in blocks]
    streams = [
        b"".join(pg_copy.encode([(b, i, None) for b, i in zip(blocks[n : n + BATCH_BLOCKS], ids[n:], strict=False)]))
        for n in range(0, len(blocks), BATCH_BLOCKS)
    ]

    def load(conn: Any) -> None:
        for data in streams:
            with conn.cursor() as cur, cur.copy(pg_copy.COPY_METRICS) as copy:
                copy.write(data)
            conn.commit()

    return _timed_load(
        uri,
        "CREATE TABLE metrics (series_id bigint, step bigint, value double precision,"
        " timestamp bigint, PRIMARY KEY (series_id, step))",
        load,
    )


def search_benchmark(uri: str, artifacts: str, runs: int = 10_000, points: int = 100) -> float:
    """Seed ``runs`` runs with ``points`` points each, then time one top-10 metric search."""
    from sqlalchemy import insert

    from tracking.store import schema as t
    from tracking.store.engine import write_transaction

    with connect(uri, artifacts=artifacts) as client:
        exp = client.get_or_create_experiment("search-bench")
        now = int(time.time() * 1000)
        ids = [uuid.uuid4().hex for _ in range(runs)]
        with write_transaction(client._store.engine) as conn:
            conn.execute(
                insert(t.runs),
                [
                    {
                        "run_id": i,
                        "experiment_id": exp.experiment_id,
                        "name": f"r{n}",
                        "status": "FINISHED",
                        "start_time": now + n,
                        "end_time": now + n + 1,
                        "parent_run_id": None,
                        "artifact_uri": f"{exp.artifact_location}/{i}",
                        "error": None,
                        "user": "bench",
                    }
                    for n, i in enumerate(ids)
                ],
            )
            conn.execute(
                insert(t.params), [{"run_id": i, "key": "alpha", "value": str(n % 17)} for n, i in enumerate(ids)]
            )
        pts = [
            MetricPoint(i, "val_accuracy", s, ((n * 31 + s) % 1000) / 1000.0, now)
            for n, i in enumerate(ids)
            for s in range(points)
        ]
        for start in range(0, len(pts), 50_000):
            client._sink.put(pts[start : start + 50_000])
        client.flush()
        best = []

        def search() -> None:
            best.append(
                client.search_runs(
                    "search-bench",
                    filter="metrics.val_accuracy > 0.5 and params.alpha != '3'",
                    order_by=["metrics.val_accuracy desc"],
                    max_results=10,
                )
            )

        search()  # warm the page cache once, as a real store would be
        seconds = min(timed(search) for _ in range(3))
        assert best[-1].height == 10
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument(
        "--mlflow-points",
        type=int,
        default=100_000,
        help="points for MLflow log_batch (its rate is extrapolated to --points)",
    )
    parser.add_argument("--mlflow-calls", type=int, default=2_000, help="points for MLflow per-call log_metric")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--search-runs", type=int, default=10_000)
    parser.add_argument("--cost-points", type=int, default=400_000, help="points for the per-step cost breakdown")
    parser.add_argument("--no-search", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

    with tempfile.TemporaryDirectory() as tmp:
        rows = make_points([uuid.uuid4().hex for _ in range(RUNS)], args.points)
        raw_seconds = raw_sqlite(f"{tmp}/raw.db", rows)
        sqlite_results = [Result("raw sqlite3 executemany, 1 transaction", len(rows), raw_seconds)]
        seconds, n = ours_bulk(f"sqlite:///{tmp}/ours.db", f"{tmp}/a", args.points)
        sqlite_results.append(Result("sweeps sink (batches of 10k points)", n, seconds))
        seconds, n = ours_per_step(f"sqlite:///{tmp}/ours2.db", f"{tmp}/a", args.points)
        sqlite_results.append(Result("sweeps run.log_metrics per step (10 keys)", n, seconds))
        seconds, n = ours_blocks(f"sqlite:///{tmp}/ours3.db", f"{tmp}/a", args.points)
        sqlite_results.append(Result("sweeps point blocks (1,000/block, unpickled)", n, seconds))
        if not args.no_mlflow:
            seconds, n = mlflow_batch(f"{tmp}/mlflow.db", args.mlflow_points)
            sqlite_results.append(Result("mlflow log_batch (1,000/call)", n, seconds, f"measured on {n:,} points"))
            seconds, n = mlflow_per_call(f"{tmp}/mlflow2.db", args.mlflow_calls)
            sqlite_results.append(Result("mlflow log_metric per call", n, seconds, f"measured on {n:,} points"))
        print_table(
            f"Ingestion into SQLite, {args.points:,} points over {RUNS} runs",
            sqlite_results,
            "points",
            baseline="raw sqlite3 executemany, 1 transaction",
        )
        mlflow = next((r for r in sqlite_results if r.name.startswith("mlflow log_batch")), None)
        if mlflow:
            for r in sqlite_results[1:4]:
                print(f"  {r.name}: {r.rate / mlflow.rate:.1f} x mlflow log_batch")
        print_costs(
            f"Receiving process, block path into SQLite ({args.cost_points:,} points)",
            receiver_costs(f"sqlite:///{tmp}/costs.db", f"{tmp}/a", args.cost_points),
        )

        if not args.no_postgres:
            with postgres_databases() as new_database:
                if new_database is None:
                    print("\nPostgreSQL: no server (set SWEEPS_TEST_POSTGRES); skipped")
                else:
                    raw_seconds = raw_psycopg(new_database(), rows)
                    pg_results = [Result("raw psycopg executemany, 1 transaction", len(rows), raw_seconds)]
                    blocks = make_blocks([uuid.uuid4().hex for _ in range(RUNS)], args.points)
                    seconds = raw_copy_binary(new_database(), blocks)
                    pg_results.append(Result("raw binary COPY, our layout (20k/commit)", len(rows), seconds))
                    seconds, n = ours_bulk(new_database(), f"{tmp}/a", args.points)
                    pg_results.append(Result("sweeps sink into PostgreSQL", n, seconds))
                    seconds, n = ours_blocks(new_database(), f"{tmp}/a", args.points)
                    pg_results.append(Result("sweeps point blocks (1,000/block, unpickled)", n, seconds))
                    print_table(
                        "Ingestion into PostgreSQL",
                        pg_results,
                        "points",
                        baseline="raw psycopg executemany, 1 transaction",
                    )
                    print_costs(
                        f"Receiving process, block path into PostgreSQL ({args.cost_points:,} points)",
                        receiver_costs(new_database(), f"{tmp}/a", args.cost_points),
                    )

        if args.no_search:
            return
        seconds = search_benchmark(f"sqlite:///{tmp}/search.db", f"{tmp}/a", runs=args.search_runs)
        print(
            f"\nsearch_runs top-10 (metric filter + param filter + order) over {args.search_runs:,} runs "
            f"x 100 points on SQLite: {seconds * 1000:.1f} ms (target < 300 ms)"
        )


if __name__ == "__main__":
    main()
