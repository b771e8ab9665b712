"""The live UI at scale (issue 14): 100,000 runs, a 10,000-trial sweep, a 1,000,000-point series, and
MLflow's UI on the same runs. Not a test: run it and read the table.

    .venv/bin/python benchmarks/ui.py [--runs 100000] [--trials 10000] [--points 1000000] [--no-mlflow]

Times are wall clock on this machine, measured in headless Chromium (Debian's) against a real
`sweeps ui` process; "drawn" means the page's charts exist in the DOM with every point handed over
(for the canvas parallel coordinates: every line stroked).
Each browser time is the median of three page loads.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

import tracking  # noqa: E402
from reports.plot_data import MAX_PARALLEL_LINES  # noqa: E402
from tests.support import server as http_support  # noqa: E402
from tests.support.browser import CHROMIUM, LAUNCH_ARGS, launch_chromium  # noqa: E402
from tracking.store import schema as t  # noqa: E402
from tracking.store.sql_store import SqlStore  # noqa: E402

START_MS = 1_767_225_600_000
SPIKE = 1_000.0
OPTIMIZERS = ("adam", "sgd", "rmsprop")


def _bulk(store: SqlStore, table, rows: list[dict], chunk: int = 50_000) -> None:  # type: ignore[no-untyped-def]
    with store.engine.begin() as conn:
        for i in range(0, len(rows), chunk):
            conn.execute(insert(table), rows[i : i + chunk])


def fill(uri: str, runs: int, trials: int, points: int) -> dict[str, str]:
    """Bulk rows straight into the store's tables (the client's per-run path would take an hour)."""
    rng = random.Random(0)
    with tracking.connect(uri, artifacts=str(Path(uri.partition(":///")[2]).parent / "artifacts")) as client:
        bench = client.get_or_create_experiment("bench").experiment_id
        sweep_exp = client.get_or_create_experiment("sweep").experiment_id
        store = client._store
        assert isinstance(store, SqlStore)
    run_rows, param_rows, summary_rows = [], [], []
    for i in range(runs):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        loss = rng.random()
        run_rows.append(
            {
                "run_id": run_id,
                "experiment_id": bench,
                "name": f"run-{i:06d}",
                "status": "FINISHED",
                "start_time": START_MS + i * 1000,
                "end_time": START_MS + i * 1000 + 500,
                "parent_run_id": None,
                "artifact_uri": f"file:///tmp/bench/{run_id}",
                "user": "bench",
            }
        )
        param_rows += [
            {"run_id": run_id, "key": "optimizer", "value": OPTIMIZERS[i % 3]},
            {"run_id": run_id, "key": "lr", "value": repr(10 ** rng.uniform(-5, -1))},
            {"run_id": run_id, "key": "batch", "value": str(2 ** rng.randint(4, 9))},
        ]
        for key, value in (("loss", loss), ("accuracy", 1 - loss / 2)):
            summary_rows.append(_summary(run_id, key, value, 0))
    sweep_id = "bench-sweep-0001"
    parent = uuid.uuid4().hex
    distributions = json.dumps(
        {
            "lr": {"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 0.1, "log": True, "step": None}},
            "optimizer": {"name": "CategoricalDistribution", "attributes": {"choices": list(OPTIMIZERS)}},
        }
    )
    run_rows.append(
        {
            "run_id": parent,
            "experiment_id": sweep_exp,
            "name": "bench",
            "status": "FINISHED",
            "start_time": START_MS,
            "end_time": START_MS + trials * 1000,
            "parent_run_id": None,
            "artifact_uri": "file:///tmp/bench/p",
            "user": "bench",
        }
    )
    tag_rows = [
        {"run_id": parent, "key": "sweeps.kind", "value": "sweep"},
        {"run_id": parent, "key": "sweeps.sweep_id", "value": sweep_id},
        {"run_id": parent, "key": "sweeps.metrics", "value": json.dumps([{"name": "val_loss", "goal": "minimize"}])},
        {"run_id": parent, "key": "sweeps.budget.trials", "value": str(trials)},
    ]
    curve_ids = []
    for n in range(trials):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        lr, opt = 10 ** rng.uniform(-5, -1), OPTIMIZERS[n % 3]
        value = abs(math.log10(lr) + 3) / 2 + 0.1 * (opt != "adam") + rng.gauss(0, 0.02)
        status = "FINISHED" if n % 10 else "PRUNED"
        run_rows.append(
            {
                "run_id": run_id,
                "experiment_id": sweep_exp,
                "name": f"trial-{n}",
                "status": status,
                "start_time": START_MS + n * 1000,
                "end_time": START_MS + n * 1000 + 900,
                "parent_run_id": parent,
                "artifact_uri": f"file:///tmp/bench/{run_id}",
                "user": "bench",
            }
        )
        tag_rows += [
            {"run_id": run_id, "key": "sweeps.kind", "value": "trial"},
            {"run_id": run_id, "key": "sweeps.sweep_id", "value": sweep_id},
            {"run_id": run_id, "key": "sweeps.trial_number", "value": str(n)},
            {"run_id": run_id, "key": "sweeps.distributions", "value": distributions},
        ]
        param_rows += [
            {"run_id": run_id, "key": "lr", "value": repr(lr)},
            {"run_id": run_id, "key": "optimizer", "value": opt},
        ]
        if status == "FINISHED":
            summary_rows.append(_summary(run_id, "objective.val_loss", value, 0))
        summary_rows.append(_summary(run_id, "val_loss", value, 9))
        curve_ids.append((run_id, value))
    long_run = uuid.uuid4().hex
    run_rows.append(
        {
            "run_id": long_run,
            "experiment_id": bench,
            "name": "long-series",
            "status": "FINISHED",
            "start_time": START_MS,
            "end_time": START_MS + 1,
            "parent_run_id": None,
            "artifact_uri": "file:///tmp/bench/long",
            "user": "bench",
        }
    )
    summary_rows.append(_summary(long_run, "loss", 0.0, points - 1))
    _bulk(store, t.runs, run_rows)
    _bulk(store, t.params, param_rows)
    _bulk(store, t.tags, tag_rows)
    _bulk(store, t.metric_summaries, summary_rows)
    with store.engine.connect() as conn:
        ids = dict(
            conn.execute(
                t.metric_summaries.select()
                .with_only_columns(t.metric_summaries.c.run_id, t.metric_summaries.c.series_id)
                .where(t.metric_summaries.c.key == "val_loss")
            ).all()
        )
        long_series = conn.execute(
            t.metric_summaries.select()
            .with_only_columns(t.metric_summaries.c.series_id)
            .where(t.metric_summaries.c.run_id == long_run)
        ).scalar_one()
    curve_points = [
        {"series_id": ids[run_id], "step": s, "value": value + 1 / (s + 1), "timestamp": START_MS + s}
        for run_id, value in curve_ids
        for s in range(10)
    ]
    _bulk(store, t.metrics, curve_points)
    spike_at = points // 3
    series = [
        {
            "series_id": long_series,
            "step": s,
            "value": SPIKE if s == spike_at else math.sin(s / 5000) + 1e-6 * s,
            "timestamp": START_MS + s,
        }
        for s in range(points)
    ]
    _bulk(store, t.metrics, series)
    store.close()
    return {"sweep_id": sweep_id, "long_run": long_run}


def _summary(run_id: str, key: str, value: float, last_step: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "key": key,
        "last_value": value,
        "last_step": last_step,
        "last_timestamp": START_MS,
        "min_value": value,
        "min_step": 0,
        "max_value": value if key != "loss" else SPIKE,
        "max_step": 0,
    }


def sweep_read(uri: str, sweep_id: str) -> float:
    """Seconds to read a sweep and work out its page data and importances, as a server does on a
    sweep's first request (Optuna's evaluators imported beforehand, as the server does at start)."""
    import optuna.importance  # noqa: F401

    from reports.sweep import load_sweep
    from reports.ui.sweep_data import importances, payload

    with tracking.connect(uri) as client:
        start = time.perf_counter()
        sweep = load_sweep(client, sweep_id)
        data = payload(client, sweep)
        importances(sweep, int(data["finished"]), {})  # type: ignore[call-overload]
        return time.perf_counter() - start


def http_time(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as answer:
        answer.read()
    return time.perf_counter() - start


def browser_time(browser, url: str, ready: str, warm: str | None = None) -> float:  # type: ignore[no-untyped-def]
    """Seconds from navigation to ``ready`` (a JS condition): the median of three fresh contexts, each
    already holding the scripts (one try on a shared 2-core machine swings by half a second)."""
    return statistics.median(_browser_once(browser, url, ready, warm) for _ in range(3))


def _browser_once(browser, url: str, ready: str, warm: str | None) -> float:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    if warm:
        page.goto(warm)  # plotly.js in the context's cache, as for a user who opened any page before
        page.wait_for_selector("body[data-ready]", timeout=120_000)
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(ready, timeout=120_000, polling=20)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


# Draws the parallel-coordinates chart (parcoords.js) once more in a holder of its own and times
# it to the frame after: the page's own data, or ``lines`` random lines over 10 axes.
PARCOORDS_ALONE = """async ([url, lines]) => {
  const holder = document.createElement("div");
  holder.className = "pc";
  holder.style.width = "1300px";
  document.getElementById("app").append(holder);
  let p = (await (await fetch(url)).json()).parallel;
  if (lines) {
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const axes = [...Array(10).keys()].map((i) => ({ name: "param_" + i, ticks: [0, 1], labels: ["0", "1"] }));
    const column = () => Array.from({ length: lines }, random);
    p = { axes, columns: axes.map(column), colour: column() };
  }
  const start = performance.now();
  new Parcoords.Chart(holder).update(p);
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  if (holder.dataset.drawn !== String(p.colour.length)) throw new Error("not every line was drawn");
  return (performance.now() - start) / 1000;
}"""


def parcoords_alone(browser, url: str, data_url: str, lines: int = 0) -> float:  # type: ignore[no-untyped-def]
    """Seconds the canvas parallel-coordinates chart takes to draw, to the next frame, on a page
    already drawn: the sweep's own lines, or ``lines`` random ones over 10 axes."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=120_000)
    elapsed = float(page.evaluate(PARCOORDS_ALONE, [data_url, lines]))
    context.close()
    return elapsed


def first_view_after_start(  # type: ignore[no-untyped-def]
    browser, uri: str, workdir: Path, page_path: str, drawn: str, ready: str, *, known: bool
) -> tuple[float, float]:
    """Seconds from navigation to ``drawn``, then to ``ready``, for a page asked for the moment a
    fresh `sweeps ui` answers its health check (medians of three starts on one port). ``known``: a
    browser profile that opened the page before (its caches hold plotly.js, compiled); else a new one."""
    port = http_support.free_port()
    artifacts, logs = workdir / "artifacts", workdir / "logs"
    # A profile on disk, as a person's browser has: Playwright's plain contexts keep no code cache
    # across tabs, so plotly.js would be compiled afresh each time (about a second).
    shared = (
        browser.browser_type.launch_persistent_context(
            tempfile.mkdtemp(prefix="sweeps-ui-profile-", dir=workdir),
            executable_path=str(CHROMIUM),
            args=LAUNCH_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        if known
        else None
    )
    if shared is not None:
        with http_support.running(uri, artifacts, logs, port=port) as server:
            page = shared.new_page()
            for _ in range(2):
                page.goto(server.url + page_path)
                page.wait_for_function(ready, timeout=120_000, polling=20)
            page.close()
    main, full = [], []
    for _ in range(3):
        with http_support.running(uri, artifacts, logs, port=port) as server:
            context = shared or browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(server.url + page_path)
            page.wait_for_function(drawn, timeout=120_000, polling=20)
            main.append(time.perf_counter() - start)
            page.wait_for_function(ready, timeout=120_000, polling=20)
            full.append(time.perf_counter() - start)
            page.close()
            if shared is None:
                context.close()
    if shared is not None:
        shared.close()
    return statistics.median(main), statistics.median(full)


def mlflow_fill(path: Path, runs: int) -> str:
    """The same 100,000 runs (params, latest metrics) in an MLflow SQLite store, in bulk."""
    import mlflow
    import sqlalchemy as sa

    uri = f"sqlite:///{path}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("bench")
    engine = sa.create_engine(uri)
    meta = sa.MetaData()
    meta.reflect(engine)
    rng = random.Random(0)
    run_rows, params, latest, metrics, tags = [], [], [], [], []
    for i in range(runs):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        loss = rng.random()
        run_rows.append(
            {
                "run_uuid": run_id,
                "name": f"run-{i:06d}",
                "source_type": "LOCAL",
                "source_name": "",
                "entry_point_name": "",
                "user_id": "bench",
                "status": "FINISHED",
                "start_time": START_MS + i * 1000,
                "end_time": START_MS + i * 1000 + 500,
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": f"/tmp/mlbench/{run_id}",
                "experiment_id": int(experiment_id),
            }
        )
        tags.append({"key": "mlflow.runName", "value": f"run-{i:06d}", "run_uuid": run_id})  # as MLflow writes it
        params += [
            {"key": "optimizer", "value": OPTIMIZERS[i % 3], "run_uuid": run_id},
            {"key": "lr", "value": repr(10 ** rng.uniform(-5, -1)), "run_uuid": run_id},
            {"key": "batch", "value": str(2 ** rng.randint(4, 9)), "run_uuid": run_id},
        ]
        for key, value in (("loss", loss), ("accuracy", 1 - loss / 2)):
            row = {"key": key, "value": value, "timestamp": START_MS, "step": 0, "is_nan": False, "run_uuid": run_id}
            latest.append(row)
            metrics.append(row)
    with engine.begin() as conn:
        tables = (
            ("runs", run_rows),
            ("tags", tags),
            ("params", params),
            ("latest_metrics", latest),
            ("metrics", metrics),
        )
        for table, rows in tables:
            columns = {c.name for c in meta.tables[table].columns}
            for i in range(0, len(rows), 50_000):
                conn.execute(
                    sa.insert(meta.tables[table]),
                    [{k: v for k, v in r.items() if k in columns} for r in rows[i : i + 50_000]],
                )
    engine.dispose()
    return str(experiment_id)


def mlflow_first_page(browser, path: Path, workdir: Path, experiment_id: str) -> float | str:  # type: ignore[no-untyped-def]
    port = http_support.free_port()
    log = open(workdir / "mlflow.log", "wb")  # noqa: SIM115 - open while the process runs
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "ui",
            "--backend-store-uri",
            f"sqlite:///{path}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                http_time(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                time.sleep(0.2)  # polling the health check
        else:
            return "did not start"
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")  # its scripts cached, as for the sweeps pages
        page.wait_for_load_state("load", timeout=120_000)
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs")  # its runs table
        try:
            page.get_by_text("run-099999", exact=True).first.wait_for(timeout=120_000)  # the newest run's row
        except Exception as exc:  # report what happened instead of a number
            return f"no runs table in 120 s ({type(exc).__name__})"
        elapsed = time.perf_counter() - start
        context.close()
        return elapsed
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def measure(name: str, target: float | None, fn: Callable[[], float], rows: list[tuple[str, str, str]]) -> None:
    value = fn()
    verdict = "" if target is None else ("ok" if value < target else "SLOWER than target")
    rows.append((name, f"{value:.3f} s", f"< {target} s {verdict}" if target else ""))
    print(f"  {name}: {value:.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sweeps-ui-bench-"))
    uri = f"sqlite:///{workdir / 'store.db'}"
    print(f"filling {uri}: {args.runs} runs, a {args.trials}-trial sweep, a {args.points}-point series", flush=True)
    start = time.perf_counter()
    made = fill(uri, args.runs, args.trials, args.points)
    print(f"  filled in {time.perf_counter() - start:.1f} s", flush=True)
    rows: list[tuple[str, str, str]] = []
    with (
        http_support.running(uri, workdir / "artifacts", workdir / "logs", command="ui") as server,
        launch_chromium() as browser,
    ):
        base = server.url
        table = f"{base}/ui/api/experiments/bench/runs?limit=100"
        query = "filter=" + urllib.request.quote("metrics.loss < 0.5 and params.optimizer = 'adam'")
        query += "&order=" + urllib.request.quote("metrics.loss asc")
        http_time(table)  # the first query warms SQLite's page cache, as any use does
        measure("runs table, first page (HTTP)", 0.5, lambda: http_time(table), rows)
        measure("runs table, filtered + sorted page (HTTP)", 1.0, lambda: http_time(f"{table}&{query}"), rows)
        drawn_table = "document.body.dataset.ready && document.querySelectorAll('#runs-table tbody tr').length === 100"
        measure(
            "runs table, first page drawn (browser)",
            0.5,
            lambda: browser_time(browser, f"{base}/experiments/bench", drawn_table, f"{base}/"),
            rows,
        )
        measure(
            "runs table, filtered + sorted drawn (browser)",
            1.0,
            lambda: browser_time(browser, f"{base}/experiments/bench?{query}", drawn_table, f"{base}/"),
            rows,
        )
        sweep_json = f"{base}/ui/api/sweeps/{made['sweep_id']}"
        measure(
            f"sweep data + importances, {args.trials} trials, read from the store (in process)",
            None,
            lambda: sweep_read(uri, made["sweep_id"]),
            rows,
        )
        # The server read the newest sweeps ahead when it started: these come from its caches.
        measure(f"sweep data, {args.trials} trials, first request (HTTP)", None, lambda: http_time(sweep_json), rows)
        measure(
            f"sweep importances, {args.trials} trials, first request (HTTP)",
            None,
            lambda: http_time(sweep_json + "/importances"),
            rows,
        )
        measure(f"sweep data, {args.trials} trials, unchanged since (HTTP)", None, lambda: http_time(sweep_json), rows)
        # The parallel chart draws every finished trial up to the figure layer's limit.
        parallel_lines = min(args.trials - args.trials // 10, MAX_PARALLEL_LINES)
        sweep_drawn = (  # every chart and table but the importances
            "document.querySelector('#chart-history .main-svg') && document.querySelector('#leaderboard-table') && "
            f"document.querySelector('#chart-parallel').dataset.drawn === '{parallel_lines}' && "
            f"document.querySelector('#chart-history').data[0].x.length === {args.trials - args.trials // 10}"
        )
        sweep_ready = sweep_drawn + " && document.body.dataset.ready && document.querySelector('#importances-table')"
        measure(
            f"sweep page, {args.trials} trials drawn (browser)",
            2.0,
            lambda: browser_time(
                browser, f"{base}/sweeps/{made['sweep_id']}", sweep_ready, f"{base}/sweeps/{made['sweep_id']}"
            ),
            rows,
        )
        sweep_page = f"{base}/sweeps/{made['sweep_id']}"
        measure(
            f"  of which: parallel coordinates, {parallel_lines} lines (canvas)",
            None,
            lambda: parcoords_alone(browser, sweep_page, sweep_json),
            rows,
        )
        measure(
            "  parallel coordinates, 10000 random lines x 10 axes (canvas)",
            None,
            lambda: parcoords_alone(browser, sweep_page, sweep_json, 10_000),
            rows,
        )
        series_ready = (
            "document.body.dataset.ready && document.querySelector('.metric-chart .main-svg') && "
            f"Math.max(...document.querySelector('.metric-chart').data[0].y) === {SPIKE}"
        )
        measure(
            f"run page, {args.points}-point series drawn, spike kept (browser)",
            1.0,
            lambda: browser_time(
                browser, f"{base}/runs/{made['long_run']}", series_ready, f"{base}/sweeps/{made['sweep_id']}"
            ),
            rows,
        )
    with launch_chromium() as browser:
        # The server's caches start empty: it reads the newest sweeps ahead while it waits, and the
        # first importances of a process import scikit-learn (about a second).
        for known, label in ((True, "a browser that opened it before"), (False, "a new browser profile")):
            main, full = first_view_after_start(
                browser, uri, workdir, f"/sweeps/{made['sweep_id']}", sweep_drawn, sweep_ready, known=known
            )
            for name, value in (("all but importances", main), ("with importances", full)):
                measure(
                    f"sweep page as `sweeps ui` starts, {label}: {name} (browser)",
                    2.0 if known else None,
                    lambda value=value: value,  # type: ignore[misc]
                    rows,
                )
        if not args.no_mlflow:
            ml_path = workdir / "mlflow.db"
            print("filling the MLflow store with the same runs", flush=True)
            experiment_id = mlflow_fill(ml_path, args.runs)
            value = mlflow_first_page(browser, ml_path, workdir, experiment_id)
            shown = f"{value:.3f} s" if isinstance(value, float) else value
            rows.append(("mlflow ui: runs table, first page with the newest run (browser)", shown, "for comparison"))
            print(f"  mlflow: {shown}", flush=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'time':>10}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>10}  {target}")
    print(f"\n(store and logs in {workdir})")


if __name__ == "__main__":
    main()
