"""Lineage of one model version on a store with 1,000 versions and 100,000 runs (target: < 1 s).

    python benchmarks/lineage.py [--store URI | --postgres] [--runs 100000] [--versions 1000] [--repeat 5]

The measured version's sweep is written through the client (parent with config.yaml and
environment.json, 100 trials, a logged model); the rest of the store is bulk-inserted rows in
the same layout, so the lineage reads a realistically sized database. Without ``--store`` a
temporary SQLite file is used; ``--postgres`` measures a throwaway PostgreSQL server too.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

import tracking
import tracking.uri
from benchmarks._common import postgres_databases
from tracking import sweep_layout as layout
from tracking.registry.lineage import lineage
from tracking.store import schema as t

MODEL = "bench"
TRIALS_PER_SWEEP = 100


class Constant:
    """A tiny model with ``predict``: the payload's size does not matter to the lineage."""

    def predict(self, rows: list[list[float]]) -> list[float]:
        return [0.0 for _ in rows]


def _real_sweep(client: tracking.TrackingClient) -> str:
    """One sweep written through the client; the run id of its best trial (with a model)."""
    tags = {
        layout.KIND: layout.KIND_SWEEP,
        layout.SWEEP_ID: "bench-sweep-0",
        layout.METRICS: '[{"name": "acc", "goal": "maximize"}]',
        layout.SAMPLER: "tpe",
        layout.PRUNER: "median",
        "data.train": "s3://bucket/train-v7.parquet",
    }
    with client.start_run(experiment="bench", name="bench-sweep", tags=tags) as parent:
        parent.log_text("name: bench\nsampler: {name: tpe}\n", "config.yaml")
        from sweeps.engine.environment import capture_environment  # benchmarks may use the engine

        parent.log_dict({**capture_environment("0" * 40), "git_dirty": False}, "environment.json")
        best = ""
        for number in range(TRIALS_PER_SWEEP):
            trial_tags = {layout.KIND: layout.KIND_TRIAL, layout.TRIAL_NUMBER: str(number), "data.fold": "0"}
            with client.start_run(
                experiment="bench", name=layout.trial_name(number), parent=parent.run_id, tags=trial_tags
            ) as trial:
                trial.log_params({"alpha": number / 100, "penalty": "l2"})
                trial.log_metrics({layout.objective_key("acc"): 0.5 + number / 1000, "loss": 1 / (number + 1)})
                if number == TRIALS_PER_SWEEP - 1:
                    trial.log_model(Constant(), input_example=[[1.0]])
                    best = trial.run_id
    client.flush()
    return best


def _bulk(uri: str, experiment_id: int, runs: int, versions: int, first_version: int) -> None:
    """``runs`` more runs (sweeps of 100 trials) and ``versions`` more registry versions, as bare rows."""
    engine = sa.create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    now = int(time.time() * 1000)
    run_rows, tag_rows, param_rows, summary_rows = [], [], [], []
    parent_id = ""
    for i in range(runs):
        run_id = uuid.uuid4().hex
        is_parent = i % (TRIALS_PER_SWEEP + 1) == 0
        if is_parent:
            parent_id = run_id
        run_rows.append(
            {
                "run_id": run_id,
                "experiment_id": experiment_id,
                "name": f"bulk-{i}",
                "status": "FINISHED",
                "start_time": now + i,
                "end_time": now + i,
                "parent_run_id": None if is_parent else parent_id,
                "artifact_uri": f"/nonexistent/{run_id}",
            }
        )
        kind = layout.KIND_SWEEP if is_parent else layout.KIND_TRIAL
        tag_rows += [{"run_id": run_id, "key": layout.KIND, "value": kind}]
        param_rows.append({"run_id": run_id, "key": "alpha", "value": str(i % 97)})
        summary_rows.append(
            {
                "run_id": run_id,
                "key": "objective.acc",
                "last_value": (i % 1000) / 1000,
                "last_step": 0,
                "last_timestamp": now,
                "min_value": 0.0,
                "min_step": 0,
                "max_value": 1.0,
                "max_step": 0,
            }
        )
    versions_rows = [
        {
            "name": MODEL,
            "version": first_version + k,
            "run_id": run_rows[(k * 97) % len(run_rows)]["run_id"],
            "source": "runs:/x/model",
            "stage": "None",
            "created_at": now,
            "updated_at": now,
        }
        for k in range(versions)
    ]
    audit_rows = [
        {
            "name": MODEL,
            "version": v["version"],
            "action": "register",
            "subject": None,
            "from_value": None,
            "to_value": v["source"],
            "at": now,
            "actor": "bench",
            "reason": None,
        }
        for v in versions_rows
    ] + [
        {
            "name": MODEL,
            "version": v["version"],
            "action": "alias",
            "subject": "challenger",
            "from_value": str(v["version"] - 1),
            "to_value": str(v["version"]),
            "at": now,
            "actor": "bench",
            "reason": "bulk",
        }
        for v in versions_rows
    ]
    with engine.begin() as conn:
        for table, rows in (
            (t.runs, run_rows),
            (t.tags, tag_rows),
            (t.params, param_rows),
            (t.metric_summaries, summary_rows),
            (t.model_versions, versions_rows),
            (t.registry_audit_log, audit_rows),
        ):
            for start in range(0, len(rows), 10_000):
                conn.execute(sa.insert(table), rows[start : start + 10_000])
        conn.execute(
            sa.update(t.registered_models)
            .where(t.registered_models.c.name == MODEL)
            .values(next_version=first_version + versions)
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="an empty store (default: a temporary SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sweeps-lineage-bench-"))
    measure(args.store or f"sqlite:///{folder / 'store.db'}", folder, args)
    if args.postgres:
        with postgres_databases() as make:
            if make is None:
                print("PostgreSQL: no server could start; skipped")
            else:
                measure(make(), folder / "pg", args)


def measure(uri: str, folder: Path, args: argparse.Namespace) -> None:
    artifacts = str(folder / "artifacts")
    start = time.perf_counter()
    with tracking.connect(uri, artifacts=artifacts) as client:
        best = _real_sweep(client)
        target = client.registry.register_model(MODEL, best, alias="champion").version
        experiment_id = client.get_experiment_by_name("bench").experiment_id
    bulk_runs = args.runs - (TRIALS_PER_SWEEP + 1)
    _bulk(uri, experiment_id, bulk_runs, args.versions - 1, target + 1)
    shown = tracking.uri.mask_password(uri)
    print(f"built {args.runs:,} runs and {args.versions:,} versions in {time.perf_counter() - start:.1f} s ({shown})")

    with tracking.connect(uri, artifacts=artifacts) as client:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            found = lineage(client, MODEL, target)
            times.append(time.perf_counter() - began)
    assert found.sweep is not None and found.sweep.rank == 1 and found.sweep.size == TRIALS_PER_SWEEP
    print(
        f"lineage of {MODEL} v{target}: median {statistics.median(times) * 1000:.0f} ms, "
        f"first {times[0] * 1000:.0f} ms, best {min(times) * 1000:.0f} ms over {args.repeat} "
        f"(rank {found.sweep.rank} of {found.sweep.size}, {len(found.packages)} packages, "
        f"{len(found.audit)} audit entries)"
    )
    command = [sys.executable, "-m", "sweeps.cli.main", "models", "show", MODEL, "--version", str(target)]
    began = time.perf_counter()
    done = subprocess.run([*command, "--format", "json", "--store", uri], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    print(
        f"`sweeps models show {MODEL} --version {target} --format json`: {wall:.2f} s wall, exit {done.returncode}"
        " (process start and imports included)"
    )


if __name__ == "__main__":
    main()
