"""``sweeps report`` and ``sweeps compare``: the HTML report of a sweep, and side-by-side runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

import tracking
from reports import ReportError, build_report, render_text, write_comparison_html
from reports import compare as compare_runs
from tracking.uri import is_sqlite, mask_password, resolve_store_uri

_UNSAFE = re.compile(r"[^\w.-]+")
STORE_HELP = "Tracking store URI (default: $SWEEPS_STORE, else sqlite:///sweeps.db)."


@contextmanager
def _client(store: str | None) -> Iterator[tracking.TrackingClient]:
    """A client on an existing store; refuses to create an empty SQLite file by accident."""
    try:
        uri = resolve_store_uri(store)
        path = _sqlite_path(uri)
        if path is not None and not path.exists():
            raise click.ClickException(
                f"store {mask_password(uri)} does not exist; "
                "pass --store or set $SWEEPS_STORE to the store the sweep wrote to"
            )
        client = tracking.connect(uri)
    except tracking.TrackingError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield client
    finally:
        client.close()


def _sqlite_path(uri: str) -> Path | None:
    if not is_sqlite(uri):
        return None
    rest = uri.partition(":///")[2]
    return Path(rest) if rest and rest != ":memory:" else None


def default_report_path(sweep_id: str) -> Path:
    """``reports/<sweep id>.html``, with anything but letters, digits, ``.-_`` replaced."""
    return Path("reports") / f"{_UNSAFE.sub('_', sweep_id).strip('.') or 'sweep'}.html"


@click.command("report")
@click.argument("sweep_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the report (default: reports/<SWEEP_ID>.html).")
@click.option("--store", default=None, help=STORE_HELP)
@click.option("--top", "top_k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Trials whose learning curves are drawn.")
def report(sweep_id: str, output: Path | None, store: str | None, top_k: int) -> None:
    """Write the self-contained HTML report of SWEEP_ID (works while the sweep runs, too)."""
    with _client(store) as client:
        try:
            path = build_report(client, sweep_id, output or default_report_path(sweep_id), top_k=top_k)
        except (ReportError, tracking.TrackingError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


@click.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the comparison, with metric curves, as an HTML file.")
@click.option("--store", default=None, help=STORE_HELP)
def compare(run_ids: tuple[str, ...], html_path: Path | None, store: str | None) -> None:
    """Compare runs side by side: params (differing first), final/best metrics, curves by step."""
    if len(set(run_ids)) < 2:
        raise click.UsageError("give at least two different run ids")
    with _client(store) as client:
        try:
            comparison = compare_runs(client, run_ids)
        except (ReportError, tracking.TrackingError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(render_text(comparison), nl=False)
    if html_path is not None:
        path = write_comparison_html(comparison, html_path)
        click.echo(f"wrote {path}")
