"""A real S3-compatible server for tests: moto's server process on a free loopback port, stopped by its PID.

Clients find it through the usual AWS environment variables (`environment`), as they would a
real endpoint: botocore reads ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import free_port

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    pid: int

    def environment(self) -> dict[str, str]:
        """What a client (or a server process) needs to reach this S3: test credentials, no secrets."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "sweeps-test-key",
            "AWS_SECRET_ACCESS_KEY": "sweeps-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextmanager
def running(log_dir: Path) -> Iterator[S3Server]:
    port = free_port()
    log = log_dir / f"moto-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process.pid)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=1.0):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer in {START_TIMEOUT_S}s") from None
                time.sleep(0.05)  # polling the server's answer
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
