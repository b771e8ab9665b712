"""A real Sweeps server for tests: a `sweeps ui`/`sweeps server` process on a free loopback port,
ready once /api/v1/health answers, stopped by its PID."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
_DATABASES: dict[str, str] = {}  # server URL -> the store URI it serves


class ServerFailed(RuntimeError):
    """The server process exited or never answered its health check."""


@dataclass
class ServerProcess:
    url: str
    store_uri: str
    artifact_root: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM to the server's PID (uvicorn shuts down cleanly), SIGKILL if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    def empty(self) -> None:
        """Delete every row of the server's SQLite store (not the schema version) and every artifact."""
        path = self.store_uri.partition(":///")[2]
        with sqlite3.connect(path, timeout=30) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'"
                )
            ]
            conn.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                conn.execute(f'DELETE FROM "{table}"')
        if self.artifact_root.exists():
            for child in self.artifact_root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()


def database_behind(uri: str) -> str:
    """The SQL store a test server serves (a SQL URI itself unchanged): for test-only SQL set-up."""
    return _DATABASES.get(uri.rstrip("/"), uri)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sweeps_command() -> list[str]:
    """The installed ``sweeps`` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "sweeps"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from sweeps.cli.main import main; sys.exit(main())"]


def _wait_healthy(server: ServerProcess, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"server exited with {server.process.returncode}:\n{server.output()[-3000:]}")
        try:  # urllib, not httpx: the probe must not depend on the client under test
            with urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=1.0) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)  # polling the health check, not waiting for a guess
    server.stop()
    raise ServerFailed(f"server did not answer /api/v1/health in {START_TIMEOUT_S}s:\n{server.output()[-3000:]}")


def start(
    store_uri: str,
    artifact_root: Path,
    log_dir: Path,
    *,
    command: str = "ui",
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> ServerProcess:
    """Start ``sweeps <command>`` (``ui``: no auth; ``server``: tokens) and wait until it answers."""
    artifact_root.mkdir(parents=True, exist_ok=True)

    def args(chosen: int) -> list[str]:
        return [
            *sweeps_command(),
            command,
            "--store",
            store_uri,
            "--artifacts",
            str(artifact_root),
            "--port",
            str(chosen),
            *extra,
        ]

    return launch(args, store_uri, artifact_root, log_dir, env=env, port=port)


def launch(
    make_args: Callable[[int], list[str]],
    store_uri: str,
    artifact_root: Path,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> ServerProcess:
    """Run the command ``make_args(port)`` gives, serving on that loopback port, until it answers."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # a port taken between free_port() and the bind: try another
        chosen = port or free_port()
        log = log_dir / f"server-{chosen}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                make_args(chosen),
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        server = ServerProcess(f"http://127.0.0.1:{chosen}", store_uri, artifact_root, process, log)
        try:
            _wait_healthy(server, time.monotonic() + START_TIMEOUT_S)
            _DATABASES[server.url] = store_uri
            return server
        except ServerFailed:
            if attempt == 2 or port is not None or "address already in use" not in server.output().lower():
                raise
    raise AssertionError("unreachable")


@contextmanager
def running(store_uri: str, artifact_root: Path, log_dir: Path, **options: object) -> Iterator[ServerProcess]:
    server = start(store_uri, artifact_root, log_dir, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serving(app: object) -> Iterator[str]:
    """An ASGI app under uvicorn in a thread of this process, on a free loopback port (real HTTP):
    for tests that hand the app their own authorizer. Yields its base URL."""
    import threading

    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ServerFailed("the in-process server did not start")
        time.sleep(0.01)  # polling uvicorn's started flag
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
