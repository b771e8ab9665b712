"""Scale benchmark (issue 18): a sweep of many trials of a trivial objective, TPE + median pruner.

Prints trials/s per window of trials from start to end, the driver's RSS over time, where the
driver's time goes (Optuna's ask/tell/prune against the rest), then the `sweeps show`, report
and resume times at the end, and Ray Tune + OptunaSearch (reuse_actors=True) for the ratio.

    .venv/bin/python benchmarks/scale.py [--trials 20000] [--backend local|ray] [--window 1000]
        [--tune-trials 2000] [--n-ei-candidates 24] [--constant-liar] [--history-window N] [--keep DIR]

Targets: the last window's rate >= 0.5 x the first's; RSS growth < 1 KB per trial; resume
< 10 s; report < 10 s and < 10 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve()
STEPS = 5


def trivial(trial) -> float:  # type: ignore[no-untyped-def]
    """Reports 5 steps of a quadratic; no real work (shipped to Ray workers by path)."""
    x, y = float(trial.params["x"]), float(trial.params["y"])
    value = 0.0
    for step in range(STEPS):
        value = (x - 0.3) ** 2 + (y + 0.2) ** 2 + 1.0 / (step + 1)
        trial.report(value, step=step)
    return value


@dataclass
class Window:
    end: int  # trials done at its end
    seconds: float
    rss_mb: float
    optuna_s: float  # of which in Optuna's ask / tell / should_prune (the driver's sampler + pruner)


@dataclass
class Probe:
    """Progress callback: a window every `size` trials done, with RSS and Optuna's share."""

    size: int
    windows: list[Window] = field(default_factory=list)
    _next: int = 0
    _t: float = field(default_factory=time.perf_counter)
    _optuna_at: float = 0.0
    optuna_s: float = 0.0
    process: psutil.Process = field(default_factory=psutil.Process)

    def __post_init__(self) -> None:
        self._next = self.size

    def __call__(self, snapshot: object) -> None:
        done = snapshot.finished + snapshot.pruned + snapshot.failed + snapshot.killed  # type: ignore[attr-defined]
        while done >= self._next:
            now = time.perf_counter()
            rss = self.process.memory_info().rss / 2**20
            self.windows.append(Window(self._next, now - self._t, rss, self.optuna_s - self._optuna_at))
            self._t, self._optuna_at = now, self.optuna_s
            self._next += self.size


def time_optuna(probe: Probe) -> None:
    """Count the driver's time inside Optuna (the bridge is the only caller)."""
    from sweeps.engine import optuna_bridge

    bridge = optuna_bridge.OptunaBridge
    for name in ("ask", "tell", "should_prune", "report"):
        original = getattr(bridge, name)

        def timed(self, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                probe.optuna_s += time.perf_counter() - start

        setattr(bridge, name, timed)


def config(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    sampler: dict[str, object] = {"name": "tpe", "seed": 0, "n_ei_candidates": args.n_ei_candidates}
    if args.constant_liar:
        sampler["constant_liar"] = True
    pruner: dict[str, object] = {"name": "median", "n_startup_trials": 5, "n_warmup_steps": 2}
    if args.history_window:
        sampler["history_window"] = pruner["history_window"] = args.history_window
    return {
        "name": "scale",
        "experiment": "scale",
        "objective": f"{HERE}:trivial",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "y": {"type": "float", "low": -1.0, "high": 1.0},
        },
        "sampler": sampler,
        "pruner": pruner,
        "budget": {"trials": args.trials},
        "execution": {"backend": args.backend, "concurrency": args.concurrency, "resources": {"cpu": 1}},
        "artifacts": str(workdir / "artifacts"),
    }


def ray_tune(trials: int, workdir: Path) -> float:
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    def trainable(cfg: dict[str, float]) -> None:
        for step in range(STEPS):
            tune.report({"loss": (cfg["x"] - 0.3) ** 2 + (cfg["y"] + 0.2) ** 2 + 1.0 / (step + 1), "step": step})

    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(0.0, 1.0), "y": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(metric="loss", mode="min", seed=0),
            num_samples=trials,
            max_concurrent_trials=2,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(name="scale", storage_path=str(workdir / "tune"), verbose=0),
    )
    start = time.perf_counter()
    results = tuner.fit()
    assert len(results) == trials
    return trials / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--tune-trials", type=int, default=2_000, help="0 skips Ray Tune")
    parser.add_argument("--n-ei-candidates", type=int, default=24, help="TPE's candidates per ask (Optuna default 24)")
    parser.add_argument("--constant-liar", action="store_true")
    parser.add_argument(
        "--history-window", type=int, default=0, help="sampler and pruner read the last N trials only (0: all)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="a folder to keep the store in")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sweeps-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    store = f"sqlite:///{workdir / 'scale.db'}"

    import sweeps
    import tracking
    from sweeps.engine.hooks import build_report

    probe = Probe(args.window)
    time_optuna(probe)
    rss0 = probe.process.memory_info().rss / 2**20
    start = time.perf_counter()
    result = sweeps.run(config(args, workdir), store=store, no_report=True, no_register=True, progress=probe)
    total = time.perf_counter() - start
    print(
        f"\n{args.trials:,} trials, backend {args.backend}, TPE n_ei_candidates {args.n_ei_candidates}"
        f"{' constant_liar' if args.constant_liar else ''} + median pruner: {total:.0f} s, "
        f"{result.n_finished} finished, {result.n_pruned} pruned, {result.n_failed} failed"
    )
    print(f"{'trials':>8} {'trials/s':>9} {'RSS MB':>8} {'Optuna share':>13}")
    for w in probe.windows:
        print(f"{w.end:>8,} {args.window / w.seconds:>9.1f} {w.rss_mb:>8.1f} {w.optuna_s / w.seconds:>12.0%}")
    if len(probe.windows) >= 2:
        first, last = probe.windows[0], probe.windows[-1]
        ratio = (args.window / last.seconds) / (args.window / first.seconds)
        growth_kb = (last.rss_mb - first.rss_mb) * 1024 / max(1, last.end - first.end)
        print(f"last window / first window: {ratio:.2f} (target >= 0.5)")
        print(
            f"driver RSS: {rss0:.0f} MB at start; growth {growth_kb:.2f} KB per trial after the first window "
            "(target < 1 KB)"
        )

    env = dict(os.environ, SWEEPS_STORE=store)
    t = time.perf_counter()
    shown = subprocess.run(
        [sys.executable, "-m", "sweeps.cli.main", "show", result.sweep_id],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    show_s = time.perf_counter() - t
    print(f"sweeps show: {show_s:.2f} s (exit {shown.returncode})")
    with tracking.connect(store) as client:
        t = time.perf_counter()
        path = build_report(client, result.sweep_id, workdir / "report.html")
        report_s = time.perf_counter() - t
    print(f"report: {report_s:.2f} s, {path.stat().st_size / 2**20:.2f} MB (targets < 10 s, < 10 MB)")
    t = time.perf_counter()
    resumed = sweeps.resume(result.sweep_id, store=store, no_report=True, no_register=True)
    print(
        f"resume (nothing left to run; the study rebuilt from {resumed.n_trials:,} trials): "
        f"{time.perf_counter() - t:.2f} s (target < 10 s)"
    )

    if args.tune_trials:
        ours_rate = (probe.windows[-1].end if probe.windows else args.trials) / total
        tune_rate = ray_tune(args.tune_trials, workdir)
        print(
            f"Ray Tune + OptunaSearch, reuse_actors=True, {args.tune_trials:,} trials: {tune_rate:.1f} trials/s; "
            f"ours (whole run): {ours_rate:.1f} trials/s; ratio ours/Tune {ours_rate / tune_rate:.1f}x"
        )
    print(f"store and report kept in {workdir}")


if __name__ == "__main__":
    main()
