"""``sweeps auth``: users, tokens and grants of a Sweeps server, managed on its store directly by its owner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click

import tracking
from sweeps.cli.common import Failure, store_option
from tracking.auth.base import Role
from tracking.auth.sql_auth import EXPERIMENT, SqlAuth, now_ms
from tracking.store import open_store
from tracking.uri import is_http, mask_password, resolve_store_uri

ROLES = click.Choice(["read", "edit", "manage"], case_sensitive=False)


@contextmanager
def _auth(store: str | None) -> Iterator[tuple[SqlAuth, tracking.Store]]:
    """The auth tables of the SQL store a server serves; errors become one line and exit 1."""
    try:
        uri = resolve_store_uri(store)
        if is_http(uri):
            raise click.UsageError(
                "sweeps auth works on the server's SQL store directly (its owner's credentials), "
                f"not through a server: pass --store sqlite:///… or postgresql://…, not {uri}"
            )
        sql = open_store(uri)
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    except tracking.TrackingError as exc:
        raise Failure(f"cannot open the store: {exc}") from exc
    try:
        yield sql.auth_store(), sql  # type: ignore[attr-defined]
    except tracking.TrackingError as exc:
        raise Failure(str(exc)) from exc
    finally:
        sql.close()


def _when(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _target(store: tracking.Store, experiment: str | None, model: str | None) -> dict[str, object]:
    if (experiment is None) == (model is None):
        raise click.UsageError("name exactly one of --experiment E and --model M")
    if model is not None:
        return {"model_name": model}
    found = store.get_experiment_by_name(experiment)  # type: ignore[arg-type]
    if found is None:
        raise Failure(f"no experiment named {experiment!r} in the store; `sweeps list` shows the sweeps' experiments")
    return {"experiment_id": found.experiment_id}


@click.group()
def auth() -> None:
    """Users, tokens and grants of `sweeps server` (run by the store's owner, on the store itself)."""


@auth.group()
def user() -> None:
    """Users of the server."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May do everything on every experiment and model.")
@click.option("--expires-days", type=float, default=None, help="The first token lapses after this many days.")
@store_option
def user_add(name: str, admin: bool, expires_days: float | None, store: str | None) -> None:
    """Add a user; prints their first token once, alone on the last line."""
    with _auth(store) as (sql_auth, _):
        _, text = sql_auth.add_user(name, admin=admin, expires_days=expires_days)
    click.echo(f"user {name} added{' (admin)' if admin else ''}; their token (shown once, keep it secret):")
    click.echo(text)


@auth.group()
def token() -> None:
    """API tokens."""


@token.command("add")
@click.argument("name")
@click.option("--expires-days", type=float, default=None, help="The token lapses after this many days.")
@store_option
def token_add(name: str, expires_days: float | None, store: str | None) -> None:
    """A new token for user NAME; printed once, alone on the last line."""
    with _auth(store) as (sql_auth, _):
        info, text = sql_auth.add_token(name, expires_days=expires_days)
    expiry = "" if info.expires_at is None else f", expires {_when(info.expires_at)}"
    click.echo(f"token {info.token_id} for {name}{expiry} (shown once, keep it secret):")
    click.echo(text)


@token.command("revoke")
@click.argument("token_id")
@store_option
def token_revoke(token_id: str, store: str | None) -> None:
    """Revoke a token by its id (as `sweeps auth list` shows it); it authenticates nobody from now on."""
    with _auth(store) as (sql_auth, _):
        info = sql_auth.revoke_token(token_id)
    click.echo(f"token {info.token_id} of {info.user} revoked at {_when(info.revoked_at)}")


@auth.command("grant")
@click.argument("name")
@click.argument("role", type=ROLES)
@click.option("--experiment", default=None, metavar="E", help="An experiment (a sweep's experiment) by name.")
@click.option("--model", default=None, metavar="M", help="A registered model by name.")
@store_option
def grant(name: str, role: str, experiment: str | None, model: str | None, store: str | None) -> None:
    """Give user NAME the role read, edit or manage on one experiment or model."""
    with _auth(store) as (sql_auth, sql):
        target = _target(sql, experiment, model)
        sql_auth.grant(name, Role.parse(role), **target)  # type: ignore[arg-type]
    click.echo(f"{name} has {role.lower()} on {'model ' + model if model else 'experiment ' + str(experiment)}")


@auth.command("revoke")
@click.argument("name")
@click.option("--experiment", default=None, metavar="E", help="An experiment by name.")
@click.option("--model", default=None, metavar="M", help="A registered model by name.")
@store_option
def revoke(name: str, experiment: str | None, model: str | None, store: str | None) -> None:
    """Take user NAME's grant on one experiment or model away."""
    with _auth(store) as (sql_auth, sql):
        sql_auth.revoke(name, **_target(sql, experiment, model))  # type: ignore[arg-type]
    click.echo(f"{name} has no grant on {'model ' + model if model else 'experiment ' + str(experiment)}")


@auth.command("list")
@store_option
def list_cmd(store: str | None) -> None:
    """Users, their tokens (never the secrets) and grants."""
    with _auth(store) as (sql_auth, sql):
        users, tokens, grants = sql_auth.users(), sql_auth.tokens(), sql_auth.grants()
        names = {e.experiment_id: e.name for e in sql.list_experiments()}
    at = now_ms()
    click.echo("users:")
    for u in users:
        click.echo(f"  {u.name}{'  (admin)' if u.admin else ''}")
    click.echo("tokens:")
    for tk in tokens:
        click.echo(
            f"  {tk.token_id}  {tk.user:<16} {tk.state(at):<8} created {_when(tk.created_at)}"
            f"  expires {_when(tk.expires_at)}"
        )
    click.echo("grants:")
    for g in grants:
        what = f"experiment {names.get(int(g.target), g.target)}" if g.scope == EXPERIMENT else f"model {g.target}"
        click.echo(f"  {g.user:<16} {g.role.name.lower():<6} {what}")
