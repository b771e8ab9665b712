"""MLflow import speed: a store written by real MLflow 3, brought over with `sweeps import mlflow`, in points/s.

Run: ``python benchmarks/import_mlflow.py [--runs N] [--keys K] [--steps S] [--mlruns]``. MLflow writes
``N`` runs of ``K`` metrics x ``S`` steps (a SQLite database, or an ``mlruns`` folder) before the
clock starts; the timed part is the command itself, in this process, into a new SQLite store,
then its re-run (which must find every run already there and write nothing). Not a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Result, print_table


def write_mlflow_store(uri: str, runs: int, keys: int, steps: int) -> int:
    """MLflow's own client logs the history (batches of 1,000, its limit); how many points."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench-import")
    now = int(time.time() * 1000)
    for r in range(runs):
        run = client.create_run(experiment, run_name=f"run-{r}")
        client.log_batch(run.info.run_id, params=[Param("alpha", str(r / runs)), Param("penalty", "l2")])
        points = [
            Metric(f"m{k}", 1.0 / (s + 1 + k), now + s, s) for k in range(keys) for s in range(steps)
        ]  # fmt: skip
        for start in range(0, len(points), 1_000):
            client.log_batch(run.info.run_id, metrics=points[start : start + 1_000])
        client.set_terminated(run.info.run_id)
    return runs * keys * steps


def import_once(source: str, store: str) -> tuple[float, str]:
    from sweeps.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", "mlflow", "--from", source, "--store", store])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sweeps import mlflow exited {code}:\n{err.getvalue()[-2000:]}")
    return seconds, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keys", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--mlruns", action="store_true", help="MLflow writes an mlruns folder, not a SQLite database")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # MLflow's deprecation chatter
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        source = str(folder / "mlruns") if args.mlruns else f"sqlite:///{folder / 'mlflow.db'}"
        mlflow_uri = (folder / "mlruns").as_uri() if args.mlruns else source
        started = time.perf_counter()
        points = write_mlflow_store(mlflow_uri, args.runs, args.keys, args.steps)
        written = time.perf_counter() - started
        store = f"sqlite:///{folder / 'sweeps.db'}"
        first, summary = import_once(source, store)
        again, _ = import_once(source, store)
        kind = "mlruns folder" if args.mlruns else "SQLite database"
        shape = f"{args.runs} runs x {args.keys} keys x {args.steps:,} steps"
        results = [
            Result("MLflow writes the history (log_batch)", points, written, shape),
            Result("sweeps import mlflow", points, first, "into a new SQLite store"),
            Result("sweeps import mlflow, again", points, again, "finds every run, writes nothing"),
        ]
        print_table(f"Import of an MLflow 3 {kind}: {points:,} points", results, "points")
        print("\n" + summary.strip())


if __name__ == "__main__":
    main()
