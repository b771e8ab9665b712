"""``sweeps server`` and ``sweeps ui`` as processes: loopback rules, the TLS warning, several workers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracking
from sweeps.cli.main import main
from sweeps.server_app import AUTH_ENV, FACTORY, ServerConfig, build
from tests.support.server import free_port, launch, sweeps_command
from tracking.auth.base import OPEN
from tracking.auth.store_authorizer import StoreAuthorizer


def test_ui_refuses_a_host_that_is_not_loopback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ui", "--store", f"sqlite:///{tmp_path / 's.db'}", "--host", "0.0.0.0"])
    assert code == 2
    assert "loopback only" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()  # refused before opening anything


def test_server_refuses_to_serve_another_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "--store", "http://127.0.0.1:1"]) == 2
    assert "not another server" in capsys.readouterr().err


def test_server_on_a_public_host_without_tls_warns_how_to_put_tls_in_front(tmp_path: Path) -> None:
    port = free_port()
    args = [
        *sweeps_command(),
        "server",
        "--store",
        f"sqlite:///{tmp_path / 's.db'}",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
    ]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "warning:" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the process's output
        text = log.read_text()
    finally:
        process.terminate()
        process.wait(15)
    assert "without TLS" in text and "reverse proxy" in text and "--ssl-certfile" in text and "docs/cluster.md" in text


def test_several_workers_serve_one_store_from_the_environment(tmp_path: Path) -> None:
    config = ServerConfig.make(f"sqlite:///{tmp_path / 's.db'}", str(tmp_path / "artifacts"), auth="open")
    env = {**config.to_env(), AUTH_ENV: "open"}

    def args(port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", FACTORY, "--factory", "--workers", "2", "--port", str(port)]

    server = launch(args, config.store_uri, tmp_path / "artifacts", tmp_path, env=env)
    try:
        clients = [tracking.connect(server.url) for _ in range(4)]  # connections spread over the workers
        runs = [c.start_run("multi") for c in clients]
        for c, r in zip(clients, runs, strict=True):
            c.log_metric(r.run_id, "loss", 1.0, step=0)
            c.end_run(r.run_id)
        with tracking.connect(config.store_uri) as direct:
            assert direct.search_runs(experiment="multi").height == 4
        for c in clients:
            c.close()
    finally:
        server.stop()
    assert "postgresql" not in server.output() and server.process.returncode is not None


def test_server_takes_its_authorizer_from_the_store_and_only_ui_runs_open(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    app, store = build(ServerConfig(uri, str(tmp_path / "artifacts"), auth="store"))
    try:
        assert isinstance(app.state.server.authorizer, StoreAuthorizer) and app.state.server.checks
    finally:
        store.close()
    app, store = build(ServerConfig(uri, str(tmp_path / "artifacts"), auth="open"))
    try:
        assert app.state.server.authorizer is OPEN
    finally:
        store.close()
