"""``sweeps server`` (a team's tracking endpoint, auth always on) and ``sweeps ui`` (personal, loopback, no auth)."""

from __future__ import annotations

import ipaddress
import os

import click

from sweeps.cli.common import Failure
from sweeps.server_app import FACTORY, SECURE_COOKIES_ENV, ServerConfig, ServerSetupError, build
from tracking.errors import TrackingError
from tracking.uri import mask_password

TLS_HELP = (
    "tokens would cross the network in clear text. Put TLS in front: a reverse proxy (nginx, Caddy, "
    "a cloud load balancer) that terminates HTTPS and forwards to this port on loopback, or uvicorn's "
    "own TLS with --ssl-certfile CERT --ssl-keyfile KEY; see docs/cluster.md, 'TLS in front of sweeps server'"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(config: ServerConfig, host: str, port: int, workers: int, tls: dict[str, str], log_level: str) -> None:
    import uvicorn

    scheme = "https" if tls else "http"
    auth = "off (every caller is admin)" if config.auth == "open" else "on (bearer tokens)"
    click.echo(f"store {mask_password(config.store_uri)} · artifacts {config.artifact_root} · auth {auth}")
    click.echo(f"serving on {scheme}://{host}:{port} with {workers} worker(s); Ctrl-C stops")
    options = {"host": host, "port": port, "log_level": log_level, "timeout_keep_alive": 30, **tls}
    if tls:
        os.environ[SECURE_COOKIES_ENV] = "1"  # the UI's session cookie never travels in clear
    click.echo(f"UI: {scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/")
    if workers > 1:
        # Each worker process builds its own store and app from the environment (no password in argv).
        os.environ.update(config.to_env())
        try:
            build(config)[1].close()  # fail here, once, on a bad store or auth setup
        except (ServerSetupError, TrackingError) as exc:
            raise Failure(str(exc)) from exc
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    try:
        app, store = build(config)
    except (ServerSetupError, TrackingError) as exc:
        raise Failure(str(exc)) from exc
    try:
        uvicorn.run(app, **options)  # type: ignore[arg-type]
    finally:
        store.close()


def _common(fn):  # type: ignore[no-untyped-def]
    fn = click.option("--log-level", default="warning", show_default=True, help="uvicorn's log level.")(fn)
    fn = click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))(fn)
    fn = click.option(
        "--artifacts",
        default=None,
        metavar="ROOT",
        help="Artifact root (default: $SWEEPS_ARTIFACTS, else ./artifacts).",
    )(fn)
    return fn


@click.command()
@click.option(
    "--store", required=True, metavar="URI", help="The SQL store the server owns (sqlite:// or postgresql://)."
)
@_common
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="uvicorn worker processes.")
@click.option("--ssl-certfile", default=None, type=click.Path(exists=True, dir_okay=False), help="TLS certificate.")
@click.option("--ssl-keyfile", default=None, type=click.Path(exists=True, dir_okay=False), help="TLS private key.")
def server(
    store: str,
    artifacts: str | None,
    port: int,
    log_level: str,
    host: str,
    workers: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> None:
    """Serve the tracking API to a team: clients hold tokens, never database credentials."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise click.UsageError("TLS needs both --ssl-certfile and --ssl-keyfile")
    tls = {"ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile} if ssl_certfile and ssl_keyfile else {}
    if not is_loopback(host) and not tls:
        click.echo(f"warning: serving on {host} without TLS: {TLS_HELP}", err=True)
    try:
        config = ServerConfig.make(store, artifacts, auth="store")
    except (ServerSetupError, TrackingError) as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    _serve(config, host, port, workers, tls, log_level)


@click.command()
@click.option(
    "--store", default=None, metavar="URI", help="Tracking store (default: $SWEEPS_STORE, else sqlite:///sweeps.db)."
)
@_common
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address (no other is served).")
def ui(store: str | None, artifacts: str | None, port: int, log_level: str, host: str) -> None:
    """Serve your own store on this machine only, without authentication."""
    if not is_loopback(host):
        raise click.UsageError(
            f"sweeps ui has no authentication and serves loopback only, not {host!r}; "
            "for a team use `sweeps server` (tokens, roles)"
        )
    try:
        config = ServerConfig.make(store, artifacts, auth="open")
    except (ServerSetupError, TrackingError) as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    _serve(config, host, port, 1, {}, log_level)
