"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp dir, or ``$SWEEPS_TEST_POSTGRES``."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_URI = "SWEEPS_TEST_POSTGRES"
ENV_BIN_DIR = "SWEEPS_TEST_PG_BIN"  # look only here for initdb and pg_ctl
PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin",)
SUPERUSER = "postgres"
# A role that must authenticate with a password (scram), for tests of password masking.
PASSWORD_ROLE = "sweeps_pw_user"
PASSWORD = "s3cret-Pa55word-for-tests"
_PG_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries were found and ``$SWEEPS_TEST_POSTGRES`` is unset."""


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PostgreSQL 15 preferred), or None."""
    chosen = os.environ.get(ENV_BIN_DIR)
    if chosen:
        path = Path(chosen)
        return path if (path / "initdb").exists() and (path / "pg_ctl").exists() else None
    # Debian keeps server binaries out of PATH, under /usr/lib/postgresql/<major>/bin.
    others = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True)
    for path in [*map(Path, PG_BIN_CANDIDATES), *others]:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


@dataclass
class PostgresServer:
    """A reachable server and a superuser URI on it; hands out fresh databases."""

    admin_url: URL  # postgresql+psycopg URL of a superuser, pointing at an existing database
    data_dir: Path | None = None  # set when this process started the server (and must stop it)
    bin_dir: Path | None = None
    created: list[str] = field(default_factory=list)  # databases to drop from an external server
    created_role: bool = False

    @property
    def owned(self) -> bool:
        return self.data_dir is not None

    def _admin_conninfo(self, database: str | None = None) -> str:
        url = self.admin_url.set(drivername="postgresql")
        if database is not None:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(self._admin_conninfo(), autocommit=True)

    def uri_for(self, database: str, *, user: str | None = None, password: str | None = None) -> str:
        url = self.admin_url.set(database=database)
        if user is not None:
            url = url.set(username=user, password=password)
        return url.render_as_string(hide_password=False)

    def create_database(self, prefix: str = "sweeps_test") -> str:
        """CREATE a fresh, empty database and return its ``postgresql+psycopg://`` URI."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return self.uri_for(name)

    def empty_database(self, uri: str) -> None:
        """Delete every row of every table but the schema version; restart the id sequences."""
        database = make_url(uri).database
        with psycopg.connect(self._admin_conninfo(database), autocommit=True) as conn:
            # Clients a failed test left open would block TRUNCATE's lock; end their sessions.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                conn.execute(
                    sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                        sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                    )
                )

    def ensure_password_role(self) -> tuple[str, str]:
        """A login role that authenticates with :data:`PASSWORD` over TCP; returns (user, password)."""
        with self.admin_connection() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,)).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                        sql.Identifier(PASSWORD_ROLE), sql.Literal(PASSWORD)
                    )
                )
                self.created_role = True
        return PASSWORD_ROLE, PASSWORD

    def drop_created(self) -> None:
        with self.admin_connection() as conn:
            for name in self.created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if self.created_role:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(PASSWORD_ROLE)))
        self.created.clear()
        self.created_role = False

    def stop(self) -> None:
        """Stop a server we started and delete its folder; drop our databases on an external one."""
        if not self.owned:
            self.drop_created()
            return
        assert self.data_dir is not None and self.bin_dir is not None
        try:
            _run_as_postgres(
                [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir / "data"), "-m", "immediate", "-w"]
            )
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start(settings: str = "") -> PostgresServer:
    """``$SWEEPS_TEST_POSTGRES`` when set, else a new server on a free loopback port.

    `settings` (``-c name=value ...``) tune a new server; an external one is used as it is.
    """
    external = os.environ.get(ENV_URI)
    if external:
        url = make_url(external)
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"{ENV_URI} must be a postgresql+psycopg:// URI")
        return PostgresServer(admin_url=url.set(drivername="postgresql+psycopg"))
    bin_dir = find_bin_dir()
    if bin_dir is None:
        where = os.environ.get(ENV_BIN_DIR) or "/usr/lib/postgresql/*/bin and PATH"
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found (looked in {where}) and ${ENV_URI} is unset; "
            f"install postgresql-15 (scripts/setup does) or point {ENV_URI} at a server"
        )
    return _start_local(bin_dir, settings)


def _start_local(bin_dir: Path, settings: str = "") -> PostgresServer:
    as_root = os.geteuid() == 0
    # initdb refuses to run as root; the folder must belong to the postgres user, and /tmp
    # is reachable by that user where the caller's $TMPDIR might not be.
    root = Path(tempfile.mkdtemp(prefix="sweeps-pg-", dir="/tmp" if as_root else None))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if as_root:
        account = pwd.getpwnam(SUPERUSER)
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    try:
        _run_as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        # Trust the superuser; every other role must give its password, so tests can see a
        # real authentication failure.
        (data / "pg_hba.conf").write_text(
            f"local all all trust\nhost all {SUPERUSER} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        port = _start_on_free_port(bin_dir, data, sockets, log, settings)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    url = URL.create("postgresql+psycopg", username=SUPERUSER, host="127.0.0.1", port=port, database="postgres")
    return PostgresServer(admin_url=url, data_dir=root, bin_dir=bin_dir)


def _start_on_free_port(bin_dir: Path, data: Path, sockets: Path, log: Path, settings: str, attempts: int = 3) -> int:
    last_error: CommandFailed | None = None
    for _ in range(attempts):  # another process may take the port between our probe and the bind
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} {_PG_OPTIONS} {settings}".strip()
        try:
            _run_as_postgres(
                [str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options]
            )
            return port
        except CommandFailed as exc:
            last_error = exc
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{tail}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as_postgres(argv: list[str]) -> None:
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        argv = [runuser, "-u", SUPERUSER, "--", *argv] if runuser else ["su", SUPERUSER, "-c", shlex.join(argv)]
    result = subprocess.run(argv, capture_output=True, text=True, cwd="/", check=False)
    if result.returncode != 0:
        raise CommandFailed(f"{shlex.join(argv)} exited {result.returncode}: {result.stderr or result.stdout}")


class CommandFailed(RuntimeError):
    """A PostgreSQL command line tool exited non-zero; carries its output."""
