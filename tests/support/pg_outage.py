"""Real PostgreSQL outages for tests: a server of this process restarted (`pg_ctl restart`),
or stopped and started again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support import postgres

# The session's servers trade durability for speed (fsync and synchronous commit off). An
# immediate shutdown of such a server forgets transactions it already reported committed, which
# no client can survive; a server meant to be restarted keeps the defaults.
DURABLE = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"


def own_server() -> postgres.PostgresServer:
    """A new throwaway server this process owns (never ``$SWEEPS_TEST_POSTGRES``: it must be restartable).

    Raises `postgres.PostgresUnavailable` when no server binaries are installed.
    """
    bin_dir = postgres.find_bin_dir()
    if bin_dir is None:
        raise postgres.PostgresUnavailable("PostgreSQL server binaries not found; cannot restart a server")
    return postgres._start_local(bin_dir, DURABLE)


def _pg_ctl(server: postgres.PostgresServer, *args: str) -> None:
    assert server.data_dir is not None and server.bin_dir is not None, "only a server this process started"
    postgres._run_as_postgres([str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir / "data"), *args])


def restart(server: postgres.PostgresServer, mode: str = "fast") -> None:
    """``pg_ctl restart -m MODE``: every session is ended; returns once the server accepts connections again."""
    assert server.data_dir is not None
    # Reuses the options it was started with. With no log file the new server would hold
    # pg_ctl's output pipe open, and the call would never return.
    _pg_ctl(server, "restart", "-m", mode, "-l", str(server.data_dir / "server.log"), "-w", "-t", "60")
    wait_until_up(server)


def stop(server: postgres.PostgresServer, mode: str = "fast") -> None:
    """``pg_ctl stop -m MODE``: returns once the server is down (connections are refused)."""
    _pg_ctl(server, "stop", "-m", mode, "-w", "-t", "60")


def start(server: postgres.PostgresServer) -> None:
    """Start a stopped server again on the same port and socket folder."""
    assert server.data_dir is not None
    port = server.admin_url.port
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {server.data_dir / 'sock'} {postgres._PG_OPTIONS} {DURABLE}"
    _pg_ctl(server, "start", "-l", str(server.data_dir / "server.log"), "-w", "-t", "60", "-o", options)
    wait_until_up(server)


@contextmanager
def stopped(server: postgres.PostgresServer, mode: str = "fast") -> Iterator[None]:
    """The server is down inside the block and up again after it, whatever the block raised."""
    stop(server, mode)
    try:
        yield
    finally:
        start(server)


def wait_until_up(server: postgres.PostgresServer, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with server.admin_connection() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
