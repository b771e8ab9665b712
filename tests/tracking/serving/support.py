"""Scoring servers for the serving tests: `sweeps models serve` as a real process, and models to serve."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from tests.support.server import START_TIMEOUT_S, ServerFailed, ServerProcess, free_port, sweeps_command
from tracking import TrackingClient

X, Y = load_iris(return_X_y=True)
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
FRAME = pd.DataFrame(X, columns=COLUMNS)


def iris_tree(depth: int) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, Y)


def iris_pipeline() -> object:
    """A scikit-learn pipeline trained on a pandas frame: its signature names the columns."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(FRAME, Y)


def register(client: TrackingClient, name: str, model: object, example: object) -> int:
    with client.start_run("serving") as run:
        run.log_model(model, input_example=example)
    return client.registry.register_model(name, run.run_id).version


def tamper(client: TrackingClient, name: str, version: int) -> None:
    """Change one byte of a registered version's payload, as an attacker with file access would."""
    source = client.registry.get_model_version(name, version)
    run_id = source.source.removeprefix("runs:/").partition("/")[0]
    artifacts = client.artifacts(run_id)
    payload = bytearray(artifacts.read_bytes("model/model.pkl"))
    payload[len(payload) // 2] ^= 0xFF
    artifacts.put_bytes(bytes(payload), "model/model.pkl")


def _ping(url: str) -> bool:
    try:  # urllib, not httpx: the probe must not depend on the client the tests use
        with urllib.request.urlopen(f"{url}/ping", timeout=1.0) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def scoring_server(
    model_uri: str,
    store_uri: str,
    log_dir: Path,
    *,
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """``sweeps models serve MODEL_URI`` on a free loopback port, once ``/ping`` answers 200."""

    def args(port: int) -> list[str]:
        return [*sweeps_command(), "models", "serve", model_uri, "--store", store_uri, "--port", str(port), *extra]

    server = launch_scoring(args, store_uri, log_dir, env)
    try:
        yield server
    finally:
        server.stop()


def launch_scoring(
    make_args: Callable[[int], list[str]], store_uri: str, log_dir: Path, env: Mapping[str, str] | None = None
) -> ServerProcess:
    """Run ``make_args(port)`` on a free port until ``/ping`` answers 200 (`launch` polls the tracking
    server's health route instead, which a scoring server does not have)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = log_dir / f"scoring-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            make_args(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", store_uri, log_dir, process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"scoring server exited with {process.returncode}:\n{server.output()[-3000:]}")
        if _ping(server.url):
            return server
        time.sleep(0.05)  # polling /ping, not waiting for a guess
    server.stop()
    raise ServerFailed(f"scoring server did not answer /ping in {START_TIMEOUT_S}s:\n{server.output()[-3000:]}")


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)  # polling the condition


def rows(n: int) -> np.ndarray:
    return np.ascontiguousarray(X[:n])
