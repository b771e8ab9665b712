"""``sweeps runs`` (search the store; ``delete`` / ``restore`` runs) and ``sweeps db upgrade`` (schema migrations)."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import TYPE_CHECKING

import click

import tracking
from sweeps.cli.common import Failure, open_client, store_option
from tracking.store import upgrade_store
from tracking.uri import mask_password

if TYPE_CHECKING:
    import polars as pl

SHORT_ID = 12  # how much of a run id the table shows; any unambiguous prefix names the run
MAX_WIDTH = 40  # a longer cell is cut with "…" (csv and json keep every character)
DEFAULT_SHOWN = 8  # params and metrics the table shows unless --columns names them
_BASE = ("run_id", "name", "status")


@click.group(invoke_without_command=True)
@click.option("--experiment", "-e", multiple=True, help="Experiment name (repeatable; default: all).")
@click.option("--sweep", "sweep_id", default=None, metavar="ID", help="Only this sweep's trials (a prefix will do).")
@click.option("--filter", "filter_text", default=None, help="e.g. \"metrics.acc > 0.9 and params.penalty = 'l2'\"")
@click.option("--order-by", "order_by", multiple=True, help="e.g. 'metrics.acc desc' (repeatable)")
@click.option("--max-results", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--columns",
    default=None,
    metavar="A,B,C",
    help="Columns to show, in order: run_id, name, status, start_time, metrics.acc, params.alpha, tags.team, "
    "... (a bare key finds metrics., params., then tags.).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@store_option
@click.pass_context
def runs(
    ctx: click.Context,
    experiment: tuple[str, ...],
    sweep_id: str | None,
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    columns: str | None,
    fmt: str,
    store: str | None,
) -> None:
    """Search runs with the filter language of the tracking store (deleted runs are left out).

    \b
    sweeps runs -e digits --filter "metrics.val_accuracy > 0.9" --columns name,val_accuracy,alpha
    sweeps runs --sweep digits-sgd-1a2b           # one sweep's trials
    sweeps runs delete RUN_ID ... | restore RUN_ID ...
    """
    if ctx.invoked_subcommand is not None:
        return
    import polars as pl  # only when searching: `sweeps runs delete` and --help stay light

    with open_client(store, must_exist=True) as client:
        parent = _sweep_parent(client, sweep_id) if sweep_id is not None else None
        try:
            frame = client.search_runs(
                list(experiment) or None,
                filter=filter_text,
                order_by=list(order_by),
                max_results=max_results,
                parent=parent,
            )
        except tracking.FilterError as exc:
            raise click.UsageError(str(exc)) from exc
        except tracking.NotFound as exc:
            raise Failure(str(exc)) from exc
    # Runs of older versions hold their config's store URI as given; no password is printed.
    frame = frame.with_columns(pl.col(pl.String).map_elements(mask_password, return_dtype=pl.String))
    if columns is not None:
        frame = frame.select(_chosen(frame, columns))
    if fmt == "csv":
        click.echo(_flat(frame).write_csv(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(_flat(frame).to_dicts(), indent=2, default=str))
    else:
        _print_table(frame, chosen=columns is not None)


def _sweep_parent(client: tracking.TrackingClient, sweep_id: str) -> str:
    from reports.errors import SweepNotFound  # the report package only for --sweep
    from reports.sweep import find_sweep

    try:
        return find_sweep(client, sweep_id).run_id
    except SweepNotFound as exc:
        raise Failure(str(exc)) from exc


def _chosen(frame: pl.DataFrame, spec: str) -> list[str]:
    """The frame's columns that ``--columns`` names; a name it lacks is a usage error listing the choices."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise click.UsageError("--columns: name at least one column, e.g. --columns name,status,metrics.acc")
    found, unknown = [], []
    for name in names:
        candidates = [name] if "." in name else [name, f"metrics.{name}", f"params.{name}", f"tags.{name}"]
        match = next((c for c in candidates if c in frame.columns), None)
        if match is None:
            unknown.append(name)
        else:
            found.append(match)
    if unknown and not frame.is_empty():
        shown = ", ".join(frame.columns[:30]) + (" ..." if frame.width > 30 else "")
        raise click.UsageError(f"--columns: no column {', '.join(map(repr, unknown))} in these runs; they have {shown}")
    return list(dict.fromkeys(found))


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    return frame.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ"))


def _print_table(frame: pl.DataFrame, *, chosen: bool) -> None:
    if frame.is_empty():
        click.echo("no runs match")
        return
    if chosen:
        shown = frame.columns
    else:
        keys = [c for c in frame.columns if c.startswith(("metrics.", "params."))][:DEFAULT_SHOWN]
        shown = [*_BASE, *keys]
    click.echo(render_table(frame.select(shown)))
    click.echo(f"{frame.height} run(s)", err=sys.stdout.isatty())


def render_table(frame: pl.DataFrame) -> str:
    """Plain aligned text, one line per row whatever the terminal: numbers in 4 significant digits
    (right-aligned), times to the second, run ids shortened, long text cut at `MAX_WIDTH`."""
    numeric = {c for c, dtype in frame.schema.items() if dtype.is_numeric()}
    header = list(frame.columns)
    cells = [[_cell(column, value) for column, value in zip(frame.columns, row, strict=True)] for row in frame.rows()]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if frame.columns[i] in numeric else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths]
    return "\n".join([line(header), line(rule), *(line(r) for r in cells)])


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    if column in ("run_id", "parent_run_id"):
        return text[:SHORT_ID]
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


# -- delete / restore -----------------------------------------------------------------------------


def _lifecycle(store: str | None, run_ids: tuple[str, ...], restore: bool) -> None:
    """Every id is resolved before any run changes: a typo in the third id leaves the first two alone."""
    verb = "restored" if restore else "deleted"
    with open_client(store, must_exist=True) as client:
        try:
            resolved = list(dict.fromkeys(client.resolve_run_id(text) for text in run_ids))
            for run_id in resolved:
                client.get_run(run_id)  # an unknown whole id fails here, before anything changes
        except tracking.InvalidParameter as exc:
            raise Failure(str(exc)) from exc
        for run_id in resolved:
            try:
                changed = client.restore_run(run_id) if restore else client.delete_run(run_id)
            except tracking.TrackingError as exc:
                raise Failure(str(exc)) from exc
            others = len(changed) - 1
            click.echo(f"{verb} run {run_id}" + (f" with {others} run(s) below it" if others > 0 else ""))


def _store_of(ctx: click.Context, store: str | None) -> str | None:
    """The subcommand's --store, else the one given before it (``sweeps runs --store URI delete ...``)."""
    parent = ctx.parent.params.get("store") if ctx.parent is not None else None
    return store if store is not None else parent


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@store_option
@click.pass_context
def delete(ctx: click.Context, run_ids: tuple[str, ...], store: str | None) -> None:
    """Soft-delete runs (and every run below each: a sweep's trials); `sweeps gc` purges them.

    Hidden from `sweeps runs`, `list`, `show` and reports until `sweeps runs restore`.
    """
    _lifecycle(_store_of(ctx, store), run_ids, restore=False)


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@store_option
@click.pass_context
def restore(ctx: click.Context, run_ids: tuple[str, ...], store: str | None) -> None:
    """Bring deleted runs back, with the runs their deletion took along."""
    _lifecycle(_store_of(ctx, store), run_ids, restore=True)


# -- sweeps db ------------------------------------------------------------------------------------


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
