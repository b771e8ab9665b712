"""``sweeps import mlflow``: bring an MLflow history (a database or an mlruns folder) into the store."""

from __future__ import annotations

import sys

import click

import tracking
from sweeps.cli.common import Failure, store_option
from tracking.importers import import_mlflow
from tracking.store import open_store
from tracking.uri import is_http, mask_password, resolve_artifact_root, resolve_store_uri


@click.group("import")
def import_group() -> None:
    """Import runs from another tracker."""


@import_group.command("mlflow")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="URI_OR_MLRUNS_DIR",
    help="An MLflow store: sqlite:///mlflow.db, postgresql://..., or an mlruns folder.",
)
@click.option(
    "--experiment", "experiments", multiple=True, metavar="E", help="Import only this experiment (repeatable)."
)
@click.option(
    "--artifacts",
    default=None,
    metavar="ROOT",
    help="Artifact root of new experiments (default: $SWEEPS_ARTIFACTS, else ./artifacts).",
)
@store_option
def mlflow(source: str, experiments: tuple[str, ...], artifacts: str | None, store: str | None) -> None:
    """Experiments, runs (nested), params, tags, every metric point, artifacts and registered models.

    Safe to re-run: what is already here is kept, nothing is doubled.
    """
    try:
        uri = resolve_store_uri(store)
        if is_http(uri):
            raise click.UsageError(
                "sweeps import writes to the SQL store directly (as its owner): pass --store sqlite:///… or postgresql://…"
            )
        target = open_store(uri)
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    except tracking.TrackingError as exc:
        raise Failure(f"cannot open the store: {exc}") from exc
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="importing runs", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        summary = import_mlflow(
            source,
            target,  # type: ignore[arg-type]
            artifact_root=resolve_artifact_root(artifacts),
            experiments=list(experiments) or None,
            progress=progress,
        )
    except tracking.TrackingError as exc:
        raise Failure(f"import from {mask_password(source)} stopped: {exc}") from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        target.close()
    click.echo(f"imported from {mask_password(source)} into {mask_password(uri)}:")
    for line in summary.lines():
        click.echo(f"  {line}")
