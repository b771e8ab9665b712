"""Dispatch benchmark (issue 3): trial throughput of our engine against raw Optuna and Ray Tune.

One process, one machine, Ray started once and shared:

1. raw Optuna in-process (`study.optimize`): the floor of what sampling + pruning costs;
2. ours on Ray (`sweeps.run`, `concurrency` workers), every point stored in SQLite;
3. Ray Tune + `OptunaSearch` with `reuse_actors=True`, the peer a user would pick instead;

each running the same trivial objective that logs and reports 10 steps. Then the parallel
speed-up of a CPU-bound objective (~0.5 s) at concurrency 1 vs 2.

    .venv/bin/python benchmarks/dispatch.py [--trials 200] [--concurrency 2] [--skip-tune] [--repeat 3]

With --repeat N every contender runs N times, interleaved, and the table shows medians: the
machine is shared, so a single run says little. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

STEPS = 10
HERE = Path(__file__).resolve()


# -- objectives (shipped to Ray workers by value: this file is referenced by path) -------------


def trivial(trial) -> float:  # type: ignore[no-untyped-def]
    """Logs two metrics and reports at each of 10 steps; no real work."""
    x = float(trial.params["x"])
    value = 0.0
    for step in range(STEPS):
        value = (x - 0.3) ** 2 + 1.0 / (step + 1)
        trial.log_metrics({"loss": value, "lr": x}, step=step)
        trial.report(value, step=step)
    return value


def cpu_bound(trial) -> float:  # type: ignore[no-untyped-def]
    """About half a second of pure-Python work."""
    return _burn(0.5) + float(trial.params["x"])


def _burn(seconds: float) -> float:
    end = time.process_time() + seconds
    total = 0.0
    while time.process_time() < end:
        for i in range(2_000):
            total += i * 1e-9
    return total


# -- the three contenders --------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    trials: int
    wall_s: float
    steady_s: float | None = None  # first trial start -> last trial end, from the store
    startup_s: float | None = None  # call -> first trial start (actors, imports, parent run)

    @property
    def rate(self) -> float:
        return self.trials / self.wall_s

    @property
    def steady_rate(self) -> float | None:
        return self.trials / self.steady_s if self.steady_s else None


def raw_optuna(trials: int, pruner: str) -> Measure:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        value = 0.0
        for step in range(STEPS):
            value = (x - 0.3) ** 2 + 1.0 / (step + 1)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner() if pruner == "median" else optuna.pruners.NopPruner(),
    )
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return Measure(f"raw Optuna in-process (pruner {pruner})", trials, time.perf_counter() - start)


def ours(trials: int, concurrency: int, pruner: str, workdir: Path, objective: str = "trivial") -> Measure:
    import sweeps
    import tracking

    store = f"sqlite:///{workdir / f'ours-{objective}-{pruner}-{concurrency}.db'}"
    config = {
        "name": f"bench-{objective}",
        "experiment": "bench",
        "objective": f"{HERE}:{objective}",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": {"name": pruner},
        "budget": {"trials": trials},
        "execution": {"backend": "ray", "concurrency": concurrency, "resources": {"cpu": 1}},
        "artifacts": str(workdir / "artifacts"),
    }
    started_at = time.time()
    start = time.perf_counter()
    result = sweeps.run(config, store=store, no_report=True, no_register=True)
    wall = time.perf_counter() - start
    assert result.status == "FINISHED" and result.n_trials == trials, result
    with tracking.connect(store) as client:
        runs = client.child_runs(result.parent_run_id)
    first = min(r.start_time for r in runs) / 1000.0
    steady = max(r.end_time or 0 for r in runs) / 1000.0 - first
    label = f"ours on Ray, concurrency {concurrency} (pruner {pruner})"
    return Measure(label, trials, wall, steady, first - started_at)


def ray_tune(trials: int, concurrency: int, workdir: Path) -> Measure:
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    def trainable(config: dict[str, float]) -> None:
        x = config["x"]
        for step in range(STEPS):
            value = (x - 0.3) ** 2 + 1.0 / (step + 1)
            tune.report({"loss": value, "lr": x, "step": step})

    search = OptunaSearch(metric="loss", mode="min", seed=0)
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            search_alg=search, num_samples=trials, max_concurrent_trials=concurrency, reuse_actors=True
        ),
        run_config=tune.RunConfig(name="bench", storage_path=str(workdir / "tune"), verbose=0),
    )
    start = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - start
    assert len(results) == trials, len(results)
    # Tune's own per-trial clock: last report time, and the trial's total time before it.
    ends = [r.metrics["timestamp"] for r in results]
    starts = [r.metrics["timestamp"] - r.metrics["time_total_s"] for r in results]
    steady = max(ends) - min(starts)
    return Measure(f"Ray Tune + OptunaSearch, reuse_actors, concurrency {concurrency}", trials, wall, steady)


# -- report ----------------------------------------------------------------------------------


def _median(runs: list[Measure]) -> Measure:
    """Medians of wall, steady and start-up time over repeated runs of one contender."""

    def med(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    wall = med([m.wall_s for m in runs])
    assert wall is not None
    name = runs[0].name + (f" [median of {len(runs)}]" if len(runs) > 1 else "")
    return Measure(name, runs[0].trials, wall, med([m.steady_s for m in runs]), med([m.startup_s for m in runs]))


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _row(m: Measure, reference: Measure | None) -> str:
    steady = f"{m.steady_rate:8.1f}" if m.steady_rate else "       -"
    ratio = f"{m.rate / reference.rate:7.2f}x" if reference else "       -"
    steady_ratio = "        -"
    if reference is not None and m.steady_rate and reference.steady_rate:
        steady_ratio = f"{m.steady_rate / reference.steady_rate:8.2f}x"
    startup = f"{m.startup_s:8.2f}" if m.startup_s is not None else "       -"
    return f"{m.name:<70} {m.trials:>6} {m.wall_s:>8.2f} {m.rate:>8.1f} {steady} {ratio} {steady_ratio} {startup}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--cpu-trials", type=int, default=12, help="trials of the 0.5 s objective per run")
    parser.add_argument("--skip-tune", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the table shows medians")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    warnings.filterwarnings("ignore")
    logging.getLogger("ray").setLevel(logging.ERROR)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    sys.path.insert(0, str(HERE.parent.parent))
    import ray

    from sweeps.engine.ray_backend import connect_ray

    connect_ray(None)  # one local Ray for every contender, started outside the timings
    print(f"machine: {os.cpu_count()} CPUs, Ray {ray.__version__}; {args.trials} trials x {STEPS} steps; {_load()}")
    with tempfile.TemporaryDirectory(prefix="sweeps-bench-") as tmp:
        workdir = Path(tmp)
        floor = raw_optuna(args.trials, "none")
        floor_pruned = raw_optuna(args.trials, "median")
        runs: dict[str, list[Measure]] = {"none": [], "median": [], "tune": []}
        for i in range(repeat):  # interleaved, so a burst of load elsewhere hits every contender
            place = workdir / f"run-{i}"
            place.mkdir()
            runs["none"].append(ours(args.trials, args.concurrency, "none", place))
            runs["median"].append(ours(args.trials, args.concurrency, "median", place))
            if not args.skip_tune:
                runs["tune"].append(ray_tune(args.trials, args.concurrency, place))
        mine, mine_pruned = _median(runs["none"]), _median(runs["median"])
        tune_m = _median(runs["tune"]) if runs["tune"] else None

        header = (
            f"{'':<70} {'trials':>6} {'wall s':>8} {'tr/s':>8} {'steady':>8} {'x Tune':>8} {'x steady':>9}"
            f" {'start s':>8}"
        )
        print("\nThroughput (wall: the whole call, Ray already up; steady: first trial start -> last end;")
        print("start: the call -> the first trial's start)")
        print(header)
        for m in (floor, floor_pruned, mine, mine_pruned, tune_m):
            if m is not None:
                print(_row(m, tune_m))
        if tune_m is not None and tune_m.steady_rate:
            print(
                f"\nours / Ray Tune, wall (with actor start-up): {mine.rate / tune_m.rate:.2f}x (no pruner), "
                f"{mine_pruned.rate / tune_m.rate:.2f}x (median pruner: a round trip per report)"
            )
            print(
                f"ours / Ray Tune, steady (trials running):    {mine.steady_rate / tune_m.steady_rate:.2f}x "
                f"(no pruner), {mine_pruned.steady_rate / tune_m.steady_rate:.2f}x (median pruner)"
            )
            if repeat > 1:
                pairs = zip(runs["none"], runs["tune"], strict=True)
                print("  per repeat (wall, no pruner): " + ", ".join(f"{a.rate / t.rate:.2f}x" for a, t in pairs))
        print(f"ours / raw Optuna floor: {mine.rate / floor.rate:.2f}x")

        cpu: dict[int, list[Measure]] = {1: [], 2: []}
        for i in range(repeat):
            place = workdir / f"cpu-{i}"
            place.mkdir()
            for concurrency in (1, 2):
                cpu[concurrency].append(ours(args.cpu_trials, concurrency, "none", place, objective="cpu_bound"))
        one, two = _median(cpu[1]), _median(cpu[2])
        print(f"\nParallel efficiency: {args.cpu_trials} trials of a ~0.5 s CPU-bound objective")
        print(f"{'':<70} {'trials':>6} {'wall s':>8} {'tr/s':>8} {'steady':>8} {'':>8} {'':>9} {'start s':>8}")
        for m in (one, two):
            print(_row(m, None))
        assert one.steady_rate and two.steady_rate
        print(
            f"speed-up 1 -> 2 workers: {two.steady_rate / one.steady_rate:.2f}x steady, "
            f"{one.wall_s / two.wall_s:.2f}x wall (includes starting the worker actors)"
        )
        if repeat > 1:
            pairs = zip(cpu[1], cpu[2], strict=True)
            each = [f"{b.steady_rate / a.steady_rate:.2f}x" for a, b in pairs if a.steady_rate and b.steady_rate]
            print("  per repeat (steady): " + ", ".join(each))
    print(_load())
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
