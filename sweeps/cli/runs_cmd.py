"""``sweeps runs`` (search the store) and ``sweeps db upgrade`` (apply schema migrations)."""

from __future__ import annotations

import json
import sys

import click
import polars as pl

import tracking
from sweeps.cli.common import Failure, open_client, store_option
from tracking.store import upgrade_store
from tracking.uri import mask_password


@click.command()
@click.option("--experiment", "-e", multiple=True, help="Experiment name (repeatable; default: all).")
@click.option("--filter", "filter_text", default=None, help="e.g. \"metrics.acc > 0.9 and params.penalty = 'l2'\"")
@click.option("--order-by", "order_by", multiple=True, help="e.g. 'metrics.acc desc' (repeatable)")
@click.option("--max-results", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@store_option
def runs(
    experiment: tuple[str, ...],
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    fmt: str,
    store: str | None,
) -> None:
    """Search runs with the filter language of the tracking store."""
    with open_client(store, must_exist=True) as client:
        try:
            frame = client.search_runs(
                list(experiment) or None, filter=filter_text, order_by=list(order_by), max_results=max_results
            )
        except tracking.FilterError as exc:
            raise click.UsageError(str(exc)) from exc
        except tracking.NotFound as exc:
            raise Failure(str(exc)) from exc
    # Runs of older versions hold their config's store URI as given; no password is printed.
    frame = frame.with_columns(pl.col(pl.String).map_elements(mask_password, return_dtype=pl.String))
    if fmt == "csv":
        click.echo(_flat(frame).write_csv(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(_flat(frame).to_dicts(), indent=2, default=str))
    else:
        _print_table(frame)


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ"))


def _print_table(frame: pl.DataFrame) -> None:
    if frame.is_empty():
        click.echo("no runs match")
        return
    shown = [c for c in frame.columns if c.startswith(("metrics.", "params."))][:8]
    table = frame.select(["run_id", "name", "status", *shown]).with_columns(pl.col("run_id").str.slice(0, 12))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=40, tbl_hide_dataframe_shape=True):
        click.echo(str(table))
    click.echo(f"{frame.height} run(s)", err=sys.stdout.isatty())


@click.group()
def db() -> None:
    """Schema of the tracking store."""


@db.command("upgrade")
@store_option
def db_upgrade(store: str | None) -> None:
    """Apply pending schema migrations to the store (back it up first)."""
    try:
        uri = upgrade_store(store)
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    except tracking.TrackingError as exc:
        raise Failure(f"cannot upgrade the store: {exc}") from exc
    click.echo(f"{mask_password(uri)} is at the current schema")
