"""``sweeps report`` and ``sweeps compare``: the HTML report of a sweep, and side-by-side runs."""

from __future__ import annotations

from pathlib import Path

import click

import tracking
from reports import ReportError, build_report, find_sweep, render_text, write_comparison_html
from reports import compare as compare_runs
from sweeps.cli.common import open_client, store_option
from sweeps.engine.hooks import default_report_path
from tracking.sweep_layout import SWEEP_ID


@click.command("report")
@click.argument("sweep_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the report (default: sweep-reports/<SWEEP_ID>.html).",
)
@store_option
@click.option(
    "--top",
    "top_k",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Trials whose learning curves are drawn.",
)
def report(sweep_id: str, output: Path | None, store: str | None, top_k: int) -> None:
    """Write the self-contained HTML report of SWEEP_ID (works while the sweep runs, too)."""
    with open_client(store, must_exist=True) as client:
        try:
            sweep_id = find_sweep(client, sweep_id).tags.get(SWEEP_ID, sweep_id)  # a prefix names it too
            path = build_report(client, sweep_id, output or default_report_path(sweep_id), top_k=top_k)
        except (ReportError, tracking.TrackingError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


@click.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the comparison, with metric curves, as an HTML file.",
)
@store_option
def compare(run_ids: tuple[str, ...], html_path: Path | None, store: str | None) -> None:
    """Compare runs side by side: params (differing first), final/best metrics, curves by step."""
    if len(set(run_ids)) < 2:
        raise click.UsageError("give at least two different run ids")
    with open_client(store, must_exist=True) as client:
        try:
            comparison = compare_runs(client, [client.resolve_run_id(r) for r in run_ids])
        except LookupError:
            raise  # open_client names the store
        except (ReportError, tracking.TrackingError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(render_text(comparison), nl=False)
    if html_path is not None:
        path = write_comparison_html(comparison, html_path)
        click.echo(f"wrote {path}")
