"""Benchmark: ranking and the HTML report of a 1,000-trial sweep, against optuna.visualization.matplotlib.

Writes a synthetic sweep (1,000 trials x 100 steps, as docs/data-model.md stores it) to a
SQLite store, then times the leaderboard, each report figure and the whole report, and the
same figures drawn by ``optuna.visualization.matplotlib`` from an equivalent in-memory study.
Prints numbers; it is not a timed test. Run: ``.venv/bin/python benchmarks/report.py``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # optuna's matplotlib plots go through pyplot

import optuna
from optuna.trial import TrialState, create_trial

import tracking
from reports import build_report, figures, leaderboard, load_sweep, rank_trials, search_space, sections, trial_records
from reports.space import param_value

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reports"))
from synthetic import make_sweep

TARGETS = {"ranking_s": 0.5, "report_s": 10.0, "size_mb": 10.0}
_STATES = {"FINISHED": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED, "FAILED": TrialState.FAIL}


def _timed(work: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _optuna_study(client: tracking.TrackingClient, sweep_id: str) -> optuna.Study:
    """The same trials as an in-memory Optuna study, with every step as an intermediate value."""
    sweep = load_sweep(client, sweep_id)
    space = search_space(sweep.trials)
    metric = sweep.primary.name
    histories = client.metric_histories([r.run_id for r in sweep.trials], [metric])
    study = optuna.create_study(direction=sweep.primary.goal)
    trials = []
    for run in sweep.trials:
        state = _STATES.get(str(run.status), TrialState.FAIL)
        value = run.metrics.get(sweep.primary.key)
        params = {k: param_value(run.params[k], d) for k, d in space.items() if k in run.params}
        steps = {m.step: m.value for m in histories.get(run.run_id, {}).get(metric, [])}
        trials.append(
            create_trial(
                state=state,
                value=value.last if value is not None and state == TrialState.COMPLETE else None,
                params=params,
                distributions={k: space[k] for k in params},
                intermediate_values=steps,
            )
        )
    study.add_trials(trials)
    return study


def _optuna_figures(study: optuna.Study) -> dict[str, float]:
    import matplotlib.pyplot as plt

    vis = optuna.visualization.matplotlib
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()  # what the report's "auto" picks at this size
    plots: dict[str, Callable[[], object]] = {
        "optimization history": lambda: vis.plot_optimization_history(study),
        "learning curves": lambda: vis.plot_intermediate_values(study),
        "parallel coordinates": lambda: vis.plot_parallel_coordinate(study),
        "importances": lambda: vis.plot_param_importances(study, evaluator=evaluator),
        "slices": lambda: vis.plot_slice(study),
    }
    out = {}
    for name, draw in plots.items():

        def draw_and_save(draw: Callable[[], object] = draw) -> None:
            axes = draw()
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure  # type: ignore[union-attr]
            figure.savefig(io.BytesIO(), format="png", dpi=110)
            plt.close(figure)

        out[name], _ = _timed(draw_and_save)
    return out


def _our_figures(client: tracking.TrackingClient, sweep_id: str, top_k: int) -> dict[str, float]:
    sweep = load_sweep(client, sweep_id)
    order = rank_trials(trial_records(sweep), [o.goal for o in sweep.objectives])
    rows = sections.trial_rows(sweep, order)
    space = search_space(sweep.trials)
    return {
        "optimization history": _timed(lambda: figures.history(sweep, rows))[0],
        "learning curves": _timed(lambda: figures.curves(client, sweep, rows, top_k))[0],
        "parallel coordinates": _timed(lambda: figures.parallel(sweep, rows, space))[0],
        "importances": _timed(lambda: figures.importances(sweep, space, "auto"))[0],
        "slices": _timed(lambda: figures.slices(sweep, rows, space))[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # optuna's ExperimentalWarning on every matplotlib plot

    with tempfile.TemporaryDirectory(prefix="sweeps-bench-") as tmp:
        root = Path(tmp)
        with tracking.connect(f"sqlite:///{root / 'bench.db'}", artifacts=str(root / "artifacts")) as client:
            write_s, _made = _timed(
                lambda: make_sweep(
                    client, sweep_id="bench-00000001", n_trials=args.trials, steps=args.steps, pruned=0.3, failed=0.05
                )
            )
            print(f"wrote {args.trials} trials x {args.steps} steps to SQLite in {write_s:.1f} s")
            ranking_s, board = _timed(lambda: leaderboard(client, "bench-00000001"), repeat=5)
            report_s, path = _timed(
                lambda: build_report(client, "bench-00000001", root / "report.html", top_k=args.top)
            )
            size_mb = path.stat().st_size / 1e6  # type: ignore[union-attr]
            ours = _our_figures(client, "bench-00000001", args.top)
            study_s, study = _timed(lambda: _optuna_study(client, "bench-00000001"))
            theirs = _optuna_figures(study)  # type: ignore[arg-type]

    print(f"leaderboard: {board.height} rows x {board.width} columns")  # type: ignore[union-attr]
    print(f"(building the in-memory Optuna study from the store took {study_s:.2f} s, not counted below)\n")
    print(f"{'figure':<24}{'sweeps (s)':>12}{'optuna.vis.mpl (s)':>20}{'optuna / sweeps':>17}")
    for name in ours:
        print(f"{name:<24}{ours[name]:>12.2f}{theirs[name]:>20.2f}{theirs[name] / ours[name]:>16.1f}x")
    total_ours, total_theirs = sum(ours.values()), sum(theirs.values())
    print(f"{'all five figures':<24}{total_ours:>12.2f}{total_theirs:>20.2f}{total_theirs / total_ours:>16.1f}x\n")
    checks = [
        ("ranking (leaderboard, median of 5)", ranking_s, TARGETS["ranking_s"], "s"),
        ("full report build", report_s, TARGETS["report_s"], "s"),
        ("report file size", size_mb, TARGETS["size_mb"], "MB"),
    ]
    print(f"{'measure':<36}{'value':>10}{'target':>10}  ok")
    for name, value, target, unit in checks:
        verdict = "yes" if value < target else "NO"
        print(f"{name:<36}{value:>8.2f} {unit:<2}{'< ' + format(target, 'g'):>8} {unit:<2} {verdict}")
    return 0 if all(value < target for _, value, target, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
