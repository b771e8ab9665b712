"""Metric ingestion: our sink vs raw SQLite/psycopg and MLflow, on the same 1,000,000 points.

Run: ``python benchmarks/ingest.py [--points N] [--mlflow-points N] [--no-postgres]``.
Prints points/s and ratios; not a timed test.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Result, postgres_databases, print_table, timed
from tracking import MetricPoint, connect

RUNS = 100
KEYS = 10


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
                client.sink.put(points[start : start + 10_000])
            client.flush()

        seconds = timed(work)
        stored = client.store.count_runs()
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


def raw_psycopg(uri: str, rows: list[tuple]) -> float:
    import psycopg

    dsn = uri.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE raw_metrics (run_id text, key text, step bigint, value double precision,"
            " timestamp bigint, PRIMARY KEY (run_id, key, step))"
        )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO raw_metrics VALUES (%s, %s, %s, %s, %s)", rows)
        conn.commit()
        return time.perf_counter() - start


def search_benchmark(uri: str, artifacts: str, runs: int = 10_000, points: int = 100) -> float:
    """Seed ``runs`` runs with ``points`` points each, then time one top-10 metric search."""
    from sqlalchemy import insert

    from tracking.store import schema as t
    from tracking.store.engine import write_transaction

    with connect(uri, artifacts=artifacts) as client:
        exp = client.get_or_create_experiment("search-bench")
        now = int(time.time() * 1000)
        ids = [uuid.uuid4().hex for _ in range(runs)]
        with write_transaction(client.store.engine) as conn:
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
            client.sink.put(pts[start : start + 50_000])
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
            for r in sqlite_results[1:3]:
                print(f"  {r.name}: {r.rate / mlflow.rate:.1f} x mlflow log_batch")

        if not args.no_postgres:
            with postgres_databases() as new_database:
                if new_database is None:
                    print("\nPostgreSQL: no server (set SWEEPS_TEST_POSTGRES); skipped")
                else:
                    raw_seconds = raw_psycopg(new_database(), rows)
                    pg_results = [Result("raw psycopg executemany, 1 transaction", len(rows), raw_seconds)]
                    seconds, n = ours_bulk(new_database(), f"{tmp}/a", args.points)
                    pg_results.append(Result("sweeps sink into PostgreSQL", n, seconds))
                    print_table(
                        "Ingestion into PostgreSQL",
                        pg_results,
                        "points",
                        baseline="raw psycopg executemany, 1 transaction",
                    )

        seconds = search_benchmark(f"sqlite:///{tmp}/search.db", f"{tmp}/a", runs=args.search_runs)
        print(
            f"\nsearch_runs top-10 (metric filter + param filter + order) over {args.search_runs:,} runs "
            f"x 100 points on SQLite: {seconds * 1000:.1f} ms (target < 300 ms)"
        )


if __name__ == "__main__":
    main()
