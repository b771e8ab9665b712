"""The fluent layer: per-call `tracking.log_metric` vs `mlflow.log_metric`, and what autologging adds to a fit.

Run: ``python benchmarks/fluent.py [--points N] [--mlflow-points N] [--fits N] [--no-mlflow]``.
Every case writes to its own SQLite file; a case's time runs until its points are stored
(the run ended). An autologged fit in the user's run is shown twice: until ``fit`` returns,
and until the run has ended (its background writes waited for). Not a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tracking
from benchmarks._common import Result, print_table, timed

FIT_TARGET = 0.20  # autologging may add at most this share to a ~50 ms fit


def tracking_per_call(folder: Path, points: int) -> Result:
    tracking.set_store(f"sqlite:///{folder / 'tracking.db'}", str(folder / "tracking-artifacts"))
    tracking.set_experiment("bench")  # the schema and experiment exist before the clock starts
    run = tracking.start_run(run_name="per-call")

    def work() -> None:
        for i in range(points):
            tracking.log_metric("m", i * 0.5, step=i)
        run.end()  # stores the points still queued

    seconds = timed(work)
    tracking.fluent.close()
    return Result("tracking.log_metric per call", points, seconds, f"{points:,} points, stored at end_run")


def mlflow_per_call(folder: Path, points: int, synchronous: bool) -> Result:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder / ('mlflow-sync.db' if synchronous else 'mlflow-async.db')}")
    mlflow.set_experiment("bench")
    mlflow.start_run(run_name="per-call")

    def work() -> None:
        for i in range(points):
            mlflow.log_metric("m", i * 0.5, step=i, synchronous=synchronous)
        mlflow.end_run()  # waits for the async queue too

    seconds = timed(work)
    name = "mlflow.log_metric" + ("" if synchronous else " (synchronous=False)")
    return Result(name, points, seconds, f"{points:,} points")


def fit_overhead(folder: Path, fits: int) -> list[Result]:
    """Autologged fits against bare fits measured in turn with them, so load on the machine hits both alike.

    In a run the user started, autologging writes the metrics and the model in the background
    (the run's end waits for them): "fit returns" times ``fit`` alone, "fit + end_run" also
    the run's start and end, with the wait. The bare fit has no run at all around it.
    """
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_digits(return_X_y=True)

    def model() -> RandomForestClassifier:
        return RandomForestClassifier(n_estimators=10, random_state=0)

    def one(setup: str) -> dict[str, tuple[float, float]]:
        """Wall and CPU seconds of one fit (and of the run around it); CPU time is this process's,
        all its threads, so other processes do not count but the background writer does."""
        estimator = model()
        # "bare": scikit-learn's own fit, called past the patch (the patch stays for the other cases).
        fit = getattr(type(estimator).fit, "__tracking_autolog_original__", type(estimator).fit)
        bare = setup in ("bare", "bare-run")
        call = functools.partial(fit, estimator, X, y) if bare else functools.partial(estimator.fit, X, y)
        out = {}
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with tracking.start_run() if setup in ("in-run", "bare-run") else contextlib.nullcontext():
            cpu, wall = time.process_time(), time.perf_counter()
            call()
            out["fit"] = (time.perf_counter() - wall, time.process_time() - cpu)
        out["total"] = (time.perf_counter() - wall0, time.process_time() - cpu0)
        return out

    def measured(setups: list[str]) -> dict[str, dict[str, tuple[float, float]]]:
        samples: dict[str, list[dict[str, tuple[float, float]]]] = {s: [] for s in setups}
        for _ in range(fits):
            for setup in setups:
                samples[setup].append(one(setup))

        def median(v: list[dict[str, tuple[float, float]]], part: str) -> tuple[float, float]:
            return statistics.median(d[part][0] for d in v), statistics.median(d[part][1] for d in v)

        return {s: {part: median(v, part) for part in ("fit", "total")} for s, v in samples.items()}

    tracking.set_store(f"sqlite:///{folder / 'autolog.db'}", str(folder / "autolog-artifacts"))
    tracking.set_experiment("bench-autolog")
    model().fit(X, y)  # warm caches (imports, BLAS threads) before any clock
    tracking.sklearn.autolog()
    for setup in ("in-run", "own-run"):
        one(setup)  # warm the autolog path too (first-use imports, the writer thread)
    # own-run: autolog starts and ends a run per fit; bare-run: the user's run without autologging
    with_models = measured(["bare", "bare-run", "in-run", "own-run"])
    tracking.sklearn.autolog(log_models=False)
    without = measured(["bare", "bare-run", "in-run"])
    tracking.sklearn.autolog(disable=True)
    tracking.fluent.close()

    def case(name: str, got: tuple[float, float], bare: tuple[float, float] | None) -> Result:
        wall, cpu = got
        note = f"wall {wall * 1000:.1f} ms, cpu {cpu * 1000:.1f} ms (median of {fits})"
        if bare is not None:
            bare_wall, bare_cpu = bare
            extra = cpu / bare_cpu - 1.0
            verdict = "within" if extra < FIT_TARGET else "over"
            note += f"; {wall / bare_wall - 1:+.0%} wall, {extra:+.0%} cpu ({verdict} the 20 % target)"
        return Result(name, 1, wall, note)

    bare, bare2 = with_models["bare"]["fit"], without["bare"]["fit"]
    in_run, in_run2 = with_models["bare-run"]["total"], without["bare-run"]["total"]
    return [
        case("bare fit", bare, None),
        case("bare fit in a run (start_run, fit, end_run)", in_run, None),
        case("autologged fit, in an active run: fit returns", with_models["in-run"]["fit"], bare),
        case("  ... fit + end_run (waits for the writes) vs bare fit", with_models["in-run"]["total"], bare),
        case("  ... fit + end_run vs the same run without autolog", with_models["in-run"]["total"], in_run),
        case("autologged fit, a run of its own", with_models["own-run"]["fit"], bare),
        case("bare fit (second pass)", bare2, None),
        case("autologged fit, log_models=False: fit returns", without["in-run"]["fit"], bare2),
        case("  ... fit + end_run (waits for the writes) vs bare fit", without["in-run"]["total"], bare2),
        case("  ... fit + end_run vs the same run without autolog", without["in-run"]["total"], in_run2),
    ]


def mlflow_fit(folder: Path, fits: int) -> Result:
    import mlflow
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_digits(return_X_y=True)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow-autolog.db'}")
    mlflow.set_experiment("bench-autolog")
    mlflow.sklearn.autolog(silent=True)
    seconds = []
    for _ in range(fits):
        estimator = RandomForestClassifier(n_estimators=10, random_state=0)
        with mlflow.start_run():
            seconds.append(timed(functools.partial(estimator.fit, X, y)))
    mlflow.sklearn.autolog(disable=True)
    median = statistics.median(seconds)
    return Result("mlflow autologged fit, in an active run", 1, median, f"{median * 1000:.1f} ms median of {fits}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=50_000, help="points for tracking.log_metric")
    parser.add_argument("--mlflow-points", type=int, default=2_000, help="points for each mlflow.log_metric case")
    parser.add_argument("--fits", type=int, default=9, help="fits per autolog case (the median is shown)")
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # MLflow's deprecation and pip-inference chatter
    with tempfile.TemporaryDirectory(prefix="bench-fluent-") as tmp:
        folder = Path(tmp)
        calls = [tracking_per_call(folder, args.points)]
        if not args.no_mlflow:
            calls.append(mlflow_per_call(folder, args.mlflow_points, synchronous=True))
            calls.append(mlflow_per_call(folder, args.mlflow_points, synchronous=False))
        print_table("Per-call log_metric, one run, SQLite", calls, "points", baseline=calls[-1].name)
        fits = fit_overhead(folder, args.fits)
        if not args.no_mlflow:
            fits.append(mlflow_fit(folder, max(3, args.fits // 3)))
        print_table("Autologged fit: RandomForestClassifier(n_estimators=10) on digits", fits, "fits", "bare fit")
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"\n(ratio column: rate / the baseline's rate; finished {started})")


if __name__ == "__main__":
    main()
