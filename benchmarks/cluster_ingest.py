"""Ingestion at cluster scale: 32 Ray trials flood metric points through our sweep path vs MLflow's client.

Ours: a real sweep (worker actors, `Trial.log_metrics`, the coordinator and its batching sink in
this process, the store).
MLflow: the same actors call `MlflowClient.log_batch` into the same kind of store.
Run: ``python benchmarks/cluster_ingest.py [--trials 32] [--seconds 15] [--repeat 3] [--warmup-s 5] [--no-mlflow]``;
``--profile FILE`` (py-spy of the driver) and ``--switch-interval`` (a what-if) help find the
limit. Prints points/s, lag from log to visible, sink memory, CPU per
part of the machine and ratios; not a timed test. Numbers and what limits them: docs/capacity.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import ray
import sqlalchemy as sa

from benchmarks._common import postgres_databases
from sweeps import Trial

GATE = "cluster-ingest-gate"
MARKER = "bench.marker"  # a point whose value is the wall-clock time it was logged: the lag probe
KEYS = 10  # points per step: the marker and 9 metrics
POLL_S = 0.2


# -- what runs on the workers ----------------------------------------------------------------


class Gate:
    """A named actor: every flooder waits here, so all start together once they have all started."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._arrived = 0
        self._opened: float | None = None
        self._cond = threading.Condition()

    def arrive(self) -> float:
        with self._cond:
            self._arrived += 1
            if self._arrived >= self._count:
                self._opened = time.time()
                self._cond.notify_all()
            while self._opened is None:
                self._cond.wait()
            return self._opened

    def opened(self) -> float | None:
        return self._opened


def flood(trial: Trial) -> float:
    """A simulated trial: as many steps of `KEYS` points as it can log in `seconds` (fixed param)."""
    seconds = float(trial.params["seconds"])  # type: ignore[arg-type]
    start = ray.get(ray.get_actor(GATE).arrive.remote())
    names = [f"m{k}" for k in range(KEYS - 1)]
    step = 0
    while True:
        now = time.time()
        if now - start >= seconds:
            break
        values = {name: (step % 97) / 97.0 for name in names}
        values[MARKER] = now
        trial.log_metrics(values, step=step)
        step += 1
    return float(step)


class MlflowFlooder:
    """The same load through MLflow's client: `log_batch` of 1,000 points (its limit per call)."""

    def run(self, uri: str, experiment_id: str, seconds: float) -> tuple[int, int]:
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        run_id = client.create_run(experiment_id).info.run_id
        start = ray.get(ray.get_actor(GATE).arrive.remote())
        names = [f"m{k}" for k in range(KEYS - 1)]
        step, logged, errors = 0, 0, 0
        while time.time() - start < seconds:
            batch = []
            for _ in range(1_000 // KEYS):
                now = time.time()
                ts = int(now * 1000)
                batch += [Metric(name, (step % 97) / 97.0, ts, step) for name in names]
                batch.append(Metric(MARKER, now, ts, step))
                step += 1
            try:
                client.log_batch(run_id, metrics=batch)
                logged += len(batch)
            except Exception:  # SQLite under 32 writers: "database is locked"; count, go on
                errors += 1
        client.end_run(run_id)
        return logged, errors


# -- watching the store from outside ---------------------------------------------------------


@dataclass
class Watch:
    """Samples, every POLL_S, how many points are visible and how stale each run's newest point is."""

    url: str
    query: str  # (run, last step, last value) of every run's marker
    lags: list[float] = field(default_factory=list)
    series: list[tuple[float, int]] = field(default_factory=list)  # (time, points visible)
    flood_until: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        engine = sa.create_engine(self.url)
        query = sa.text(self.query)
        try:
            while not self._stop.wait(POLL_S):
                try:
                    with engine.connect() as conn:
                        rows = conn.execute(query, {"k": MARKER}).all()
                except sa.exc.OperationalError:
                    continue  # SQLite busy, or the schema not there yet
                now = time.time()
                self.series.append((now, sum(int(step) + 1 for _, step, _ in rows) * KEYS))
                if self.flood_until is not None and now < self.flood_until:
                    self.lags.extend(now - float(value) for _, _, value in rows)
        finally:
            engine.dispose()


class CpuAccount:
    """CPU seconds each part of the machine used during the flood: who limits the rate on 2 cores."""

    def __init__(self) -> None:
        self._before = self._snapshot()
        self._machine = psutil.cpu_times()
        self.seconds: dict[str, float] = {}
        self.wall = time.monotonic()

    @staticmethod
    def _snapshot() -> dict[int, tuple[str, float]]:
        out = {}
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is None:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            part = _part(proc.info["name"] or "", cmdline)
            if part == "Ray system":  # itemised: which of Ray's processes take the CPU
                part = f"Ray system: {_ray_process(proc.info['name'] or '', cmdline)}"
            used = times.user + times.system
            if part == "PostgreSQL" and "-D" in (proc.info["cmdline"] or []):
                # The postmaster: backends that exited (pooled connections closed) left their
                # CPU time in its children's times.
                used += times.children_user + times.children_system
            out[proc.pid] = (part, used)
        return out

    def stop(self) -> None:
        self.wall = time.monotonic() - self.wall
        after = self._snapshot()
        for pid, (part, cpu) in after.items():
            used = cpu - self._before.get(pid, (part, 0.0))[1]
            self.seconds[part] = self.seconds.get(part, 0.0) + max(0.0, used)
        machine = psutil.cpu_times()
        fields = ("user", "system", "nice", "irq", "softirq")
        busy = sum(getattr(machine, f) - getattr(self._machine, f) for f in fields)
        self.seconds["whole machine"] = busy

    def line(self) -> str:
        parts: dict[str, float] = {}
        ray: dict[str, float] = {}
        for name, seconds in self.seconds.items():
            if name.startswith("Ray system: "):
                ray[name.removeprefix("Ray system: ")] = seconds / self.wall
                name = "Ray system"
            parts[name] = parts.get(name, 0.0) + seconds / self.wall
        text = ", ".join(f"{k} {v:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        busiest = ", ".join(f"{k} {v:.2f}" for k, v in sorted(ray.items(), key=lambda kv: -kv[1])[:4] if v >= 0.01)
        return f"CPU (cores busy on average): {text}" + (f" (Ray: {busiest})" if busiest else "")


def _part(name: str, cmdline: str) -> str:
    if "postgres" in name or "postgres" in cmdline.split(" ")[0]:
        return "PostgreSQL"
    # A process's name is cut to 15 characters, and an exiting one has no command line left.
    if any(actor in text for actor in ("TrialWorke", "MlflowFlood") for text in (name, cmdline)):
        return "trials"
    if "ray" in name.lower() or "raylet" in name or "gcs_server" in name or "/ray/" in cmdline:
        return "Ray system"
    if "cluster_ingest" in cmdline:
        return "driver (coordinator + sink)"
    return "other processes"


def _ray_process(name: str, cmdline: str) -> str:
    """A short name for one of Ray's processes: its role, not its pid."""
    if cmdline.startswith("ray::"):
        return cmdline.split(" ")[0].split(":")[2] if cmdline.count(":") >= 3 else cmdline.split(" ")[0]
    for role in ("raylet", "gcs_server", "dashboard.py", "log_monitor", "monitor.py", "default_worker"):
        if role in name or role in cmdline:
            return role
    return name


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Outcome:
    name: str
    points: int
    seconds: float  # gate open -> every point visible
    lags: list[float]
    note: str = ""
    sink_peak: int | None = None
    point_bytes: int | None = None
    coordinator_rss_mb: float | None = None
    coordinator_peak_rss_mb: float | None = None
    cpu: CpuAccount | None = None

    @property
    def rate(self) -> float:
        return self.points / self.seconds if self.seconds > 0 else float("nan")


def _when_all_visible(watch: Watch, total: int, fallback: float) -> float:
    return next((t for t, seen in watch.series if seen >= total), fallback)


# -- ours: a real sweep on Ray ---------------------------------------------------------------


def _writers(coordinator: object) -> list[object]:
    """The sink's writers: one `MetricSink`, or the shards of a `ShardedSink`."""
    sink = coordinator._client._sink  # type: ignore[attr-defined]  # a benchmark of the internals
    return list(getattr(sink, "shards", [sink]))


def _time_writes(coordinator: object, switch_interval: float | None) -> None:
    """Time each batch every sink writer writes (duty cycle, rate while writing).

    A what-if for finding the limit: a shorter GIL switch interval in the driver.
    """
    from tracking.point_block import PointBlock

    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    for sink in _writers(coordinator):
        write = sink._write  # type: ignore[attr-defined]
        sink.bench_write_s, sink.bench_written = 0.0, 0  # type: ignore[attr-defined]

        def timed_write(batch: list[object], sink: object = sink, write: object = write) -> None:
            start = time.perf_counter()
            try:
                write(batch)  # type: ignore[operator]
            finally:
                sink.bench_write_s += time.perf_counter() - start  # type: ignore[attr-defined]
                # A batch holds loose points and point blocks: count points, not items.
                sink.bench_written += sum(len(x) if isinstance(x, PointBlock) else 1 for x in batch)  # type: ignore[attr-defined]

        sink._write = timed_write  # type: ignore[attr-defined]


def _coordinator_stats(coordinator: object) -> dict[str, float]:
    """The coordinator's sink peak and the driver's memory (the coordinator runs in it)."""
    import psutil

    sink = coordinator._client._sink  # type: ignore[attr-defined]
    writers = _writers(coordinator)
    # Trials' points wait in the sink as point blocks: per point an int64 step and timestamp,
    # a float64 value and a one-byte key index (run id and keys are held once per block).
    size = 8 + 8 + 8 + 1
    return {
        "writers": len(writers),
        "write_s": sum(getattr(w, "bench_write_s", 0.0) for w in writers),
        "written": sum(getattr(w, "bench_written", 0) for w in writers),
        "batches": sink.batches_written,
        "peak": sink.peak_pending,
        "max_pending": sink.max_pending,
        "point_bytes": size,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_ours(
    store: str,
    trials: int,
    seconds: float,
    workdir: Path,
    profile: Path | None = None,
    switch_interval: float | None = None,
) -> Outcome:
    from sweeps.config import load_config, resolve_objective
    from sweeps.engine.parent import SweepSetup, environment_info, new_sweep_id
    from sweeps.engine.ray_backend import RayBackend

    config = {
        "name": "ingest",
        "experiment": "cluster-ingest",
        "objective": f"{Path(__file__).resolve()}:flood",
        "metric": {"name": "steps", "goal": "maximize"},
        "parameters": {"seconds": seconds},
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "none"},
        "budget": {"trials": trials},
        "execution": {"concurrency": trials, "resources": {"cpu": 0}, "retries": 0},
        "artifacts": str(workdir / "artifacts"),
    }
    cfg = load_config(config)
    artifacts = str(workdir / "artifacts")
    setup = SweepSetup(cfg, new_sweep_id(cfg.name), store, artifacts, "bench", environment_info("bench"))
    gate = ray.remote(Gate).options(name=GATE, max_concurrency=trials + 4).remote(trials)
    watch = Watch(store, "SELECT run_id, last_step, last_value FROM metric_summaries WHERE key = :k")
    backend = RayBackend(cfg, resolve_objective(cfg.objective))
    backend.start(setup)
    _time_writes(backend.coordinator, switch_interval)
    watcher = watch.start()
    profiler = None
    try:
        opened = _wait_gate(gate)
        watch.flood_until = opened + seconds
        cpu = CpuAccount()
        if profile is not None:
            profiler = _py_spy(os.getpid(), seconds, profile)
        backend.execute(lambda _: None)
        done_at = time.time()
        cpu.stop()
        stats = _coordinator_stats(backend.coordinator)
        backend.finalize()
    finally:
        backend.close()
        watch.stop()
        watcher.join()
        ray.kill(gate)
    total = _count(store, "metrics")
    end = _when_all_visible(watch, total, done_at)
    vacuums = _autovacuums(store)
    writers = int(stats["writers"])
    busy = stats["write_s"] / (done_at - opened) / writers
    rate = stats["written"] / stats["write_s"] if stats["write_s"] else float("nan")
    note = (
        f"{writers} sink writer(s), each busy {busy:.0%} of the time, {rate:,.0f} points/s per writer while writing, "
        f"{stats['written'] / max(1, stats['batches']):,.0f} points/batch; max_pending {stats['max_pending']:,}"
    )
    if vacuums:
        note += f"; autovacuum ran during the run: {vacuums}"
    if profiler is not None:
        profiler.wait()
        note += f"; py-spy profile: {profile}"
    return Outcome(
        "ours",
        total,
        end - opened,
        watch.lags,
        note,
        int(stats["peak"]),
        int(stats["point_bytes"]),
        stats["rss_mb"],
        stats["peak_rss_mb"],
        cpu,
    )


def _py_spy(pid: int, seconds: float, out: Path):  # type: ignore[no-untyped-def]
    """Sample the driver (coordinator and sink) for the flood's length (py-spy ships in the venv's dev extras)."""
    import shutil
    import subprocess

    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("py-spy not found: no profile")
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--threads",
            "--idle",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# -- MLflow: the same actors, MlflowClient.log_batch -----------------------------------------


def run_mlflow(store: str, trials: int, seconds: float) -> Outcome:
    from mlflow.tracking import MlflowClient

    uri = store  # a SQLAlchemy URL, as MLflow's SQL store takes it
    experiment_id = MlflowClient(tracking_uri=uri).create_experiment("cluster-ingest")  # creates the schema first
    gate = ray.remote(Gate).options(name=GATE, max_concurrency=trials + 4).remote(trials)
    flooders = [ray.remote(MlflowFlooder).options(num_cpus=0).remote() for _ in range(trials)]
    watch = Watch(uri, "SELECT run_uuid, step, value FROM latest_metrics WHERE key = :k")
    watcher = watch.start()
    try:
        refs = [f.run.remote(uri, experiment_id, seconds) for f in flooders]
        opened = _wait_gate(gate)
        watch.flood_until = opened + seconds
        cpu = CpuAccount()
        results = ray.get(refs)
        done_at = time.time()
        cpu.stop()
    finally:
        watch.stop()
        watcher.join()
        for actor in [gate, *flooders]:
            ray.kill(actor)
    logged = sum(n for n, _ in results)
    errors = sum(e for _, e in results)
    total = _count(store, "metrics")
    note = f"{errors} log_batch calls failed" if errors else ""
    if total != logged:
        note += f" (store holds {total:,} of {logged:,} logged)"
    return Outcome("MLflow log_batch", total, done_at - opened, watch.lags, note.strip(), cpu=cpu)


# -- plumbing ----------------------------------------------------------------------------------


def _wait_gate(gate: object, timeout_s: float = 600) -> float:
    """When every flooder has started (their processes take a while to come up on 2 cores)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        opened = ray.get(gate.opened.remote())  # type: ignore[attr-defined]
        if opened is not None:
            return float(opened)
        time.sleep(0.1)  # waiting for worker processes to start: nothing to be notified by
    raise TimeoutError("the flooders did not all start")


def _autovacuums(store: str) -> str:
    """Autovacuum and autoanalyze runs on the tables (PostgreSQL): server work that varies by run."""
    if not store.startswith("postgresql"):
        return ""
    engine = sa.create_engine(store)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_user_tables "
                    "WHERE autovacuum_count + autoanalyze_count > 0 ORDER BY relname"
                )
            ).all()
    finally:
        engine.dispose()
    return ", ".join(f"{name} vacuum x{v} analyze x{a}" for name, v, a in rows)


def _count(store: str, table: str) -> int:
    engine = sa.create_engine(store)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def report(title: str, outcomes: list[Outcome]) -> None:
    runs = [o for o in outcomes if o.name.startswith("ours")]
    ours = runs[-1] if runs else None
    print(f"\n{title}")
    head = f"{'path':<18} {'points':>11} {'seconds':>8} {'points/s':>11} {'x MLflow':>9}"
    print(f"{head} {'lag p50':>8} {'lag p95':>8} {'lag max':>8}  note")
    mlflow = next((o for o in outcomes if not o.name.startswith("ours")), None)
    for o in outcomes:
        ratio = f"{o.rate / mlflow.rate:.1f}" if mlflow and o is not mlflow and mlflow.rate > 0 else ""
        lags = " ".join(f"{percentile(o.lags, q):>7.2f}s" for q in (0.5, 0.95, 1.0))
        print(f"{o.name:<18} {o.points:>11,} {o.seconds:>8.1f} {o.rate:>11,.0f} {ratio:>9} {lags}  {o.note}")
    if len(runs) > 1:
        rates = sorted(o.rate for o in runs)
        median = statistics.median(rates)
        versus = f" = {median / mlflow.rate:.1f} x MLflow" if mlflow and mlflow.rate > 0 else ""
        print(f"ours, median of {len(runs)}: {median:,.0f} points/s{versus} (range {rates[0]:,.0f}-{rates[-1]:,.0f})")
    for o in outcomes:
        if o.cpu is not None:
            print(f"{o.name}: {o.cpu.line()}")
    if ours is not None and ours.sink_peak is not None:
        est = ours.sink_peak * (ours.point_bytes or 0) / 2**20
        print(
            f"sink peak: {ours.sink_peak:,} points pending x ~{ours.point_bytes} B = ~{est:.0f} MiB; "
            f"coordinator RSS {ours.coordinator_rss_mb:.0f} MiB at the end, peak {ours.coordinator_peak_rss_mb:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each trial floods")
    parser.add_argument("--address", default=None, help="join this Ray cluster instead of starting one")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours per store (the machine is shared: medians)")
    parser.add_argument("--warmup-s", type=float, default=5.0, help="an unreported flood first, per store (0: none)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the driver, waits included, to FILE")
    parser.add_argument(
        "--switch-interval", type=float, default=None, help="sys.setswitchinterval in the driver (default 0.005)"
    )
    args = parser.parse_args()

    from sweeps.engine.ray_backend import connect_ray

    logging.getLogger("alembic").setLevel(logging.WARNING)
    connect_ray(args.address)
    print(
        f"{args.trials} trials flooding {args.seconds:g} s each, {KEYS} points per step; "
        f"{os.cpu_count()} CPUs; Ray {ray.__version__}"
    )
    stores: list[tuple[str, Callable[[], str]]] = []
    databases = postgres_databases(one_at_a_time=True)
    with tempfile.TemporaryDirectory(prefix="cluster-ingest-") as tmp, databases as make_pg:
        work = Path(tmp)
        if make_pg is not None and not args.no_postgres:
            stores.append(("PostgreSQL", make_pg))
        if not args.no_sqlite:
            counter = iter(range(100))
            stores.append(("SQLite", lambda: f"sqlite:///{work / f'store-{next(counter)}.db'}"))
        for title, make in stores:
            profile = args.profile if title == "PostgreSQL" else None
            if args.warmup_s > 0:
                # Not reported: the first flood after Ray and the server start also pays for
                # starting Ray's worker processes and faulting in the server's shared buffers.
                run_ours(make(), args.trials, args.warmup_s, work)
            outcomes = []
            for i in range(1, max(1, args.repeat) + 1):
                ours = run_ours(make(), args.trials, args.seconds, work, profile, args.switch_interval)
                outcomes.append(replace(ours, name=f"ours #{i}"))
            if not args.no_mlflow:
                outcomes.append(run_mlflow(make(), args.trials, args.seconds))
            report(f"{title}: {args.trials} concurrent trials -> store", outcomes)
    ray.shutdown()


if __name__ == "__main__":
    main()
