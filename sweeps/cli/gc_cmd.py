"""``sweeps gc``: purge soft-deleted runs for good, with their params, tags, metrics and artifacts."""

from __future__ import annotations

import datetime as dt
import time

import click

import tracking
from sweeps.cli.common import Failure, store_option
from tracking.uri import is_http, mask_password, resolve_store_uri

SHOWN = 50  # purged runs listed one per line; past that, a count
_DAY_MS = 86_400_000


@click.command()
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="DAYS",
    help="Only runs deleted at least this many days ago (0: every deleted run).",
)
@store_option
def gc(days: float, store: str | None) -> None:
    """Purge deleted runs (`sweeps runs delete`, deleted experiments) and their artifacts; cannot be undone.

    Runs that back a registered model version are kept. Works on the SQL store itself: for a
    team server, run it where the server's store is (`--store postgresql+psycopg://...`).
    """
    from tracking.store.sql_store import SqlStore  # SQLAlchemy only once the command runs
    from tracking.store.sqlite_files import require_existing

    try:
        uri = resolve_store_uri(store)
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    if is_http(uri):
        raise click.UsageError(
            f"sweeps gc works on a SQL store directly, not through the server {uri}: run it where the "
            "server's store is, with --store sqlite:///... or --store postgresql+psycopg://..."
        )
    cutoff = int(time.time() * 1000 - days * _DAY_MS)
    try:
        require_existing(uri)
        sql = SqlStore(uri)
    except tracking.TrackingError as exc:
        raise Failure(f"cannot open the store: {exc}") from exc
    try:
        report = sql.purge_deleted(cutoff)
    except tracking.TrackingError as exc:
        raise Failure(f"gc stopped: {exc} (what it purged so far is gone; run it again to finish)") from exc
    finally:
        sql.close()
    for run in report.runs[:SHOWN]:
        when = dt.datetime.fromtimestamp(run.deleted_at / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
        click.echo(f"purged run {run.run_id}  {run.name}  (deleted {when} UTC)")
    if len(report.runs) > SHOWN:
        click.echo(f"... and {len(report.runs) - SHOWN} more run(s)")
    for name in report.experiments:
        click.echo(f"purged experiment {name!r}")
    for line in report.kept:
        click.echo(f"kept {line}")
    since = "" if days == 0 else f" deleted more than {days:g} day(s) ago"
    click.echo(
        f"purged {len(report.runs)} run(s){since} from {mask_password(uri)}: {report.params} params, "
        f"{report.tags} tags, {report.series} metric series with {report.points:,} points, "
        f"{report.artifact_folders} artifact folder(s), {len(report.experiments)} experiment(s)"
    )
