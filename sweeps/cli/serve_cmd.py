"""``sweeps models serve`` (MLflow's scoring protocol, following an alias) and ``sweeps models predict`` (files)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sweeps.cli.common import Failure, open_client, store_option
from tracking.errors import InvalidURI, TrackingError
from tracking.models import parse_model_uri
from tracking.uri import is_sqlite, mask_password, resolve_store_uri


def _check_uri(model_uri: str) -> None:
    try:
        parse_model_uri(model_uri)
    except InvalidURI as exc:
        raise click.BadParameter(str(exc), param_hint="MODEL_URI") from exc


def _store_uri(store: str | None) -> str:
    try:
        uri = resolve_store_uri(store)
    except InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    path = uri.partition(":///")[2] if is_sqlite(uri) else ""
    if path and path != ":memory:" and not Path(path).exists():
        raise Failure(f"store {uri} does not exist; pass --store or set $SWEEPS_STORE to the store holding the model")
    return uri


@click.command("serve")
@click.argument("model_uri")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="uvicorn worker processes.")
@click.option(
    "--poll-interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between registry checks of the alias (or stage) being followed.",
)
@click.option(
    "--max-body-bytes",
    default=64 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(min=1),
    help="Larger request bodies are answered 413.",
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn's log level.")
@store_option
def serve(
    model_uri: str,
    host: str,
    port: int,
    workers: int,
    poll_interval: float,
    max_body_bytes: int,
    log_level: str,
    store: str | None,
) -> None:
    """Serve MODEL_URI over HTTP in MLflow's scoring protocol (POST /invocations, GET /ping, GET /version).

    With an alias (models:/NAME@champion) or a stage the server follows it: when it moves, the
    new version is loaded, hash-checked, warmed and swapped in without dropping a request.
    The store comes from --store or $SWEEPS_STORE; a server's token from $SWEEPS_TOKEN.
    """
    import uvicorn

    from sweeps.cli.server_cmd import TLS_HELP, is_loopback
    from tracking.serving import FACTORY, ServeConfig, build_scoring_app, open_follower, show_swaps

    _check_uri(model_uri)
    config = ServeConfig(model_uri, _store_uri(store), poll_interval, max_body_bytes)
    if not is_loopback(host):
        click.echo(f"warning: serving on {host} without TLS; {TLS_HELP}", err=True)
    show_swaps()
    try:
        follower = open_follower(config)  # fail here, once, on a bad store, URI or model
    except TrackingError as exc:
        raise Failure(f"cannot serve {model_uri}: {exc}") from exc
    served = follower.current
    what = f"v{served.version}" if served.version is not None else served.uri
    follows = f"; following it every {poll_interval:g}s" if follower.follows else ""
    click.echo(f"{model_uri} -> {what} (sha256 {served.sha256[:12]}…){follows}")
    click.echo(f"serving on http://{host}:{port}/invocations with {workers} worker(s); Ctrl-C stops")
    options = {"host": host, "port": port, "log_level": log_level, "timeout_keep_alive": 30}
    if workers > 1:
        # Each worker process loads the model and follows the alias itself (no password in argv).
        follower.close()
        os.environ.update(config.to_env())
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    uvicorn.run(build_scoring_app(follower, max_body_bytes=max_body_bytes), **options)  # type: ignore[arg-type]


@click.command("predict")
@click.argument("model_uri")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .csv, .parquet or .json/.jsonl file with one row per input.",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the predictions go (.csv, .parquet, .json or .jsonl), one row per input row.",
)
@click.option(
    "--chunk-rows",
    default=50_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows read, scored and written at a time (memory stays bounded by this).",
)
@store_option
def predict(model_uri: str, input_path: Path, output_path: Path, chunk_rows: int, store: str | None) -> None:
    """Score a file with MODEL_URI, chunk by chunk, so that a file larger than memory works."""
    import tracking
    from tracking.serving import predict_file
    from tracking.serving._batch import file_format

    _check_uri(model_uri)
    try:
        file_format(input_path)
        file_format(output_path)
    except TrackingError as exc:
        raise click.BadParameter(str(exc)) from exc
    with open_client(_store_uri(store), must_exist=True) as client:
        model = tracking.load_model(model_uri, client)
        try:
            result = predict_file(model, input_path, output_path, chunk_rows=chunk_rows)
        except OSError as exc:
            raise Failure(f"cannot write {output_path}: {exc.strerror or exc}") from exc
    click.echo(f"{result.rows} row(s) scored in {result.chunks} chunk(s) -> {result.output}")
