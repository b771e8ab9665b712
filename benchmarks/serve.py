"""Model serving: `sweeps models serve` vs `mlflow models serve` on the same scikit-learn pipeline.

Run: ``python benchmarks/serve.py [--seconds S] [--clients N]``. A short sweep (local backend)
trains the pipeline and registers it; the same fitted pipeline is logged with MLflow. Each
server runs as its own process with one worker; 16 keep-alive clients post the same body to
each (1 row, then 1,000 rows) and we count requests/s and latency percentiles; not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import Result, print_table  # noqa: E402

MODEL = "digits-pipeline"
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def train_pipeline(trial) -> float:  # type: ignore[no-untyped-def]
    """The sweep's objective: scaler + SGD on digits, logged with an input example."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sweeps.examples._data import digits_split

    data = digits_split()
    pipeline = make_pipeline(
        StandardScaler(), SGDClassifier(alpha=float(trial.params["alpha"]), max_iter=50, tol=None, random_state=0)
    ).fit(data.X_train, data.y_train)
    accuracy = float(pipeline.score(data.X_val, data.y_val))
    trial.log_model(pipeline, input_example=data.X_val[:5])
    return accuracy


def sweep_model(work: Path) -> tuple[str, object]:
    """Run a 4-trial sweep that registers the best pipeline; @champion on it. Returns the store URI and the model."""
    import sweeps
    import tracking

    store = f"sqlite:///{work / 'sweeps.db'}"
    config = {
        "name": "serve-bench",
        "experiment": "serve-bench",
        "objective": "benchmarks.serve:train_pipeline",
        "metric": {"name": "accuracy", "goal": "maximize"},
        "parameters": {"alpha": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}},
        "sampler": {"name": "tpe", "seed": 0},
        "budget": {"trials": 4},
        "execution": {"backend": "local"},
        "artifacts": str(work / "artifacts"),
        "register": {"model": MODEL, "alias": "challenger"},
    }
    result = sweeps.run(config, store=store, no_report=True)
    assert result.ok, result.notes
    with tracking.connect(store) as client:
        version = client.registry.get_version_by_alias(MODEL, "challenger").version
        client.registry.set_alias(MODEL, "champion", version)
        model = tracking.load_model(f"models:/{MODEL}@champion", client).raw
    return store, model


def mlflow_model(work: Path, model: object, example: np.ndarray) -> tuple[str, str]:
    """The same fitted pipeline logged with MLflow; returns its model URI and tracking URI."""
    import mlflow

    uri = f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("serve-bench")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", input_example=example)
    return info.model_uri, uri


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1.0) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling /ping
    raise RuntimeError(f"{url} did not answer /ping in {timeout_s}s")


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


async def _client(port: int, request: bytes, until: float, latencies: list[float], errors: list[int]) -> None:
    # A raw keep-alive HTTP/1.1 client: a few microseconds per request, so the servers are what is measured.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != b"200":
                errors.append(int(head[9:12]))
    finally:
        writer.close()


def load(port: int, body: bytes, clients: int, seconds: float) -> tuple[int, float, list[float], list[int]]:
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> float:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(_client(port, request, until, latencies, errors) for _ in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return len(latencies), elapsed, latencies, errors


ROUNDS = 2  # the servers take turns, so that a change in the machine's load hits both


def measure(
    names: dict[str, str], ports: dict[str, int], body: bytes, clients: int, seconds: float
) -> dict[str, tuple[Result, float]]:
    """Requests/s and latencies of each server, measured in alternating rounds; name -> (result, p99 ms)."""
    counts = dict.fromkeys(ports, 0)
    elapsed = dict.fromkeys(ports, 0.0)
    latencies: dict[str, list[float]] = {key: [] for key in ports}
    for port in ports.values():
        load(port, body, clients, min(2.0, seconds / 4))  # warm: connections, caches, lazy imports
    for _ in range(ROUNDS):
        for key, port in ports.items():
            count, took, times, errors = load(port, body, clients, seconds / ROUNDS)
            if errors:
                raise RuntimeError(f"{names[key]}: {len(errors)} failed requests (HTTP {sorted(set(errors))})")
            counts[key] += count
            elapsed[key] += took
            latencies[key] += times
    measured = {}
    for key in ports:
        p50, p99 = (float(np.percentile(latencies[key], q)) * 1000 for q in (50, 99))
        note = f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        measured[key] = (Result(names[key], counts[key], elapsed[key], note), p99)
    return measured


def same_answers(ports: dict[str, int], body: bytes) -> None:
    answers = {}
    for name, port in ports.items():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            answers[name] = json.loads(answer.read())["predictions"]
    first, *rest = answers.values()
    assert all(r == first for r in rest), f"the servers disagree: {answers}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    parser.add_argument("--clients", type=int, default=16)
    options = parser.parse_args()

    from sweeps.examples._data import digits_split
    from tests.support.server import free_port, sweeps_command

    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        store, model = sweep_model(work)
        x = digits_split().X_val
        model_uri, mlflow_uri = mlflow_model(work, model, x[:5])
        ports = {"ours": free_port(), "mlflow": free_port()}
        ours = [*sweeps_command(), "models", "serve", f"models:/{MODEL}@champion", "--store", store]
        processes.append(start([*ours, "--port", str(ports["ours"])], env, work / "ours.log"))
        theirs = [shutil.which("mlflow", path=env["PATH"]) or "mlflow", "models", "serve", "-m", model_uri]
        theirs += ["--env-manager", "local", "--port", str(ports["mlflow"]), "--host", "127.0.0.1"]
        processes.append(start(theirs, {**env, "MLFLOW_TRACKING_URI": mlflow_uri}, work / "mlflow.log"))
        for (_name, port), process in zip(ports.items(), processes, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", process)

        verdicts = []
        for rows in (1, 1000):
            body = json.dumps({"inputs": np.resize(x, (rows, x.shape[1])).round(6).tolist()}).encode()
            same_answers(ports, body)
            names = {"ours": f"sweeps models serve, {rows} row(s)", "mlflow": f"mlflow models serve, {rows} row(s)"}
            measured = measure(names, ports, body, options.clients, options.seconds)
            (ours_result, ours_p99), (mlflow_result, mlflow_p99) = measured["ours"], measured["mlflow"]
            print_table(
                f"POST /invocations, {rows} row(s) per request ({len(body):,} bytes), {options.clients} clients",
                [ours_result, mlflow_result],
                "requests",
                baseline=mlflow_result.name,
            )
            ratio = ours_result.rate / mlflow_result.rate
            met = "ok" if ratio >= 3 and ours_p99 <= mlflow_p99 else "BELOW TARGET"
            verdicts.append(
                f"{rows:>5} row(s): {ratio:.2f} x MLflow's requests/s (target 3 x), "
                f"p99 {ours_p99:.2f} vs {mlflow_p99:.2f} ms: {met}"
            )
        print("\n" + "\n".join(verdicts))
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
