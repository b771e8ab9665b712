"""``sweeps run`` / ``resume`` (a sweep with live progress), ``sweeps list`` and ``show`` (read from the store)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import click
import polars as pl

import sweeps
import tracking
from reports.sweep import sweep_of
from sweeps.cli.common import Failure, open_client, store_option
from sweeps.config import SweepConfig, load_config
from sweeps.engine import SweepResult, find_sweep
from sweeps.engine.lease import is_stale, sweep_leases
from sweeps.engine.queue_tags import OUTPUT_TAIL
from sweeps.engine.ranking import leaderboard_of, noise_text, noise_text_of
from sweeps.engine.signals import EXIT_TERMINATED, Terminated
from sweeps.errors import ConfigError, SweepsError
from sweeps.progress import ProgressDisplay, format_duration, format_value
from tracking import sweep_layout as layout
from tracking.entities import Run, RunStatus
from tracking.registry import ModelVersion
from tracking.sweep_layout import best_run, goal_of, objective_value
from tracking.uri import mask_password, resolve_store_uri

__all__ = ["list_cmd", "resume", "run", "show"]

# SystemExit, not click's Exit: sweeps.cli.main runs click with standalone_mode=False, where an
# Exit's code is returned by click and would be lost.
EXIT_INTERRUPTED = 130
SWEEP_FILTER = "tags.`sweeps.kind` = 'sweep'"
# The status shown for a RUNNING sweep whose driver is gone (no live lease): resume it.
STALE = "stale (no driver)"
# Leaderboard printed at the end of `sweeps run`; `sweeps show --top K` prints more.
TOP_AT_END = 5
MAX_PARAM_COLUMNS = 8


class ConfigRefused(click.ClickException):
    """A config that cannot run: every problem listed, exit status 2, nothing started."""

    exit_code = 2

    def __init__(self, error: ConfigError) -> None:
        super().__init__(mask_password(str(error)))

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)
        click.echo("nothing was run; fix the config (or the --set override) and try again", err=True)


# -- run / resume ----------------------------------------------------------------------------


@click.command()
@click.argument("config", metavar="CONFIG")
@click.option("--set", "overrides", multiple=True, metavar="K=V", help="Override a config key, e.g. budget.trials=20.")
@store_option
@click.option("--address", default=None, metavar="ADDR", help='Ray cluster to join ("auto", "ray://host:10001").')
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--no-register", is_flag=True, help="Do not register the best model.")
def run(
    config: str, overrides: tuple[str, ...], store: str | None, address: str | None, no_report: bool, no_register: bool
) -> None:
    """Run the sweep described by the YAML file CONFIG."""
    try:
        cfg = load_config(config, list(overrides))
    except ConfigError as exc:
        raise ConfigRefused(exc) from exc
    try:
        store_text = mask_password(resolve_store_uri(store or cfg.store))
    except tracking.InvalidURI as exc:
        raise click.UsageError(mask_password(str(exc))) from exc
    _echo_header(cfg, store_text, address)
    with _sweep_errors(), ProgressDisplay(metric=cfg.metric.name) as display:
        try:
            result = sweeps.run(
                cfg, store=store, address=address, no_report=no_report, no_register=no_register, progress=display
            )
        except KeyboardInterrupt as stop:
            display.close()
            _interrupted(display, store, stop)
    _conclude(result)


@click.command()
@click.argument("sweep_id")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="K=V",
    help="Change a budget key, e.g. budget.trials=40 (only budget.*).",
)
@store_option
@click.option("--address", default=None, metavar="ADDR", help='Ray cluster to join ("auto", "ray://host:10001").')
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option("--no-register", is_flag=True, help="Do not register the best model.")
def resume(
    sweep_id: str,
    overrides: tuple[str, ...],
    store: str | None,
    address: str | None,
    no_report: bool,
    no_register: bool,
) -> None:
    """Continue an interrupted sweep to its budget (--set budget.trials=N raises it)."""
    from sweeps.engine.driver import resume_overrides

    with _sweep_errors():
        resume_overrides(list(overrides))  # a refused key exits 2 before anything opens
    with open_client(store, must_exist=True) as client, _sweep_errors():
        parent = find_sweep(client, sweep_id)
        metric = next(iter(_metric_names(parent)), None)
        click.echo(f"resuming sweep {sweep_id} ({_status(parent)}) · store {mask_password(client.uri)}")
    with _sweep_errors(), ProgressDisplay(metric=metric) as display:
        try:
            result = sweeps.resume(
                sweep_id,
                store,
                address=address,
                no_report=no_report,
                no_register=no_register,
                progress=display,
                overrides=list(overrides),
            )
        except KeyboardInterrupt as stop:
            display.close()
            _interrupted(display, store, stop)
    _conclude(result)


def _echo_header(cfg: SweepConfig, store_text: str, address: str | None) -> None:
    ex = cfg.execution
    where = (
        "local backend (sequential)"
        if ex.backend == "local"
        else f"ray @ {address or ex.address or 'local'} x{ex.concurrency}"
    )
    goals = ", ".join(f"{m.goal} {m.name}" for m in cfg.metrics)
    click.echo(
        f"sweep {cfg.name} · {goals} · {cfg.budget.trials} trials · sampler {cfg.sampler.name} · "
        f"pruner {cfg.pruner.name} · {where} · store {store_text}"
    )


@contextmanager
def _sweep_errors() -> Iterator[None]:
    """Sweep errors as CLI exits: a bad config or objective is exit 2, anything else exit 1."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigRefused(exc) from exc
    except (SweepsError, tracking.TrackingError) as exc:
        raise Failure(mask_password(str(exc))) from exc


def _interrupted(display: ProgressDisplay, store: str | None, stop: KeyboardInterrupt) -> NoReturn:
    terminated = isinstance(stop, Terminated)
    last = display.last
    what = "terminated (SIGTERM)" if terminated else "interrupted"
    if last is not None:
        where = f" --store {mask_password(store)}" if store else ""
        click.echo(f"{what}: sweep {last.sweep_id} ended KILLED after {last.completed} trial(s)", err=True)
        click.echo(f"continue it with: sweeps resume {last.sweep_id}{where}", err=True)
    else:
        click.echo(f"{what} before the sweep started", err=True)
    raise SystemExit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)


def _conclude(result: SweepResult) -> None:
    counts = f"{result.n_finished} finished, {result.n_pruned} pruned, {result.n_failed} failed" + (
        f", {result.n_killed} killed" if result.n_killed else ""
    )
    click.echo(f"\nsweep {result.sweep_id} {result.status}: {result.n_trials} trials ({counts})")
    if result.n_finished or result.n_pruned:
        _echo_table(*leaderboard_table(result.leaderboard(TOP_AT_END)))
        with result.client() as client:
            noise = noise_text(client, result.sweep_id)
        if noise is not None:
            click.echo(noise)
    if result.pareto:
        click.echo(f"Pareto set: {', '.join(r.name for r in result.pareto)}")
    if result.report_path:
        click.echo(f"report:     {result.report_path}")
    if result.registered is not None:
        click.echo(f"registered: {_model_uri(result.registered)}")
    for note in result.notes:
        click.echo(f"note: {mask_password(note)}")
    click.echo(f"store:      {result.store}   (sweeps show {result.sweep_id})")
    if result.status == RunStatus.KILLED.value:
        raise SystemExit(EXIT_INTERRUPTED)
    if not result.ok:
        if result.all_failed and result.first_error:
            click.echo(f"\nevery trial failed; the first error was in {result.first_error}", err=True)
        elif result.errors:
            shown = "\n  ".join(result.errors[:10])
            more = f"\n  ... {len(result.errors) - 10} more" if len(result.errors) > 10 else ""
            click.echo(f"\nfailed trials:\n  {shown}{more}", err=True)
        raise Failure(f"sweep {result.sweep_id} {result.status}")


def _model_uri(version: object) -> str:
    # SweepResult.registered is typed loosely so that the engine need not import the registry.
    if not isinstance(version, ModelVersion):
        return str(version)
    aliases = f" (@{', @'.join(version.aliases)})" if version.aliases else ""
    return f"models:/{version.name}/{version.version}{aliases}"


# -- list / show -------------------------------------------------------------------------------


@click.command("list")
@click.option("--experiment", "-e", default=None, help="Only sweeps of this experiment.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Newest sweeps shown.")
@store_option
def list_cmd(experiment: str | None, limit: int, store: str | None) -> None:
    """Sweeps in the store: status, trials done / pruned / failed, best value."""
    with open_client(store, must_exist=True) as client, _sweep_errors():
        parents = client.search_runs(experiment, filter=SWEEP_FILTER, max_results=limit)
        if parents.is_empty():
            where = f" in experiment {experiment!r}" if experiment else ""
            click.echo(f"no sweeps{where} in {mask_password(client.uri)}")
            return
        experiments = {e.experiment_id: e.name for e in client.list_experiments()}
        runs = client.get_runs(list(parents["run_id"]))
        leases = sweep_leases(client.uri, [r.run_id for r in runs if r.status is RunStatus.RUNNING])
        rows = [
            sweep_row(
                run,
                client.child_runs(run.run_id),
                experiments.get(run.experiment_id, "?"),
                stale=run.run_id in leases and is_stale(run, leases[run.run_id]),
            )
            for run in runs
        ]
    _echo_table(LIST_HEADERS, rows)


LIST_HEADERS = (
    "sweep_id", "experiment", "status", "trials", "finished", "pruned", "failed", "killed", "best", "started",
)  # fmt: skip


def sweep_row(parent: Run, children: Sequence[Run], experiment: str, *, stale: bool = False) -> tuple[str, ...]:
    """One `sweeps list` row: id, experiment, status (`STALE` when no driver owns a RUNNING
    sweep), trial counts, best value, start time."""
    counts = Counter(r.status for r in children)
    budget = parent.tags.get(layout.BUDGET_TRIALS, "?")
    return (
        parent.tags.get(layout.SWEEP_ID, parent.run_id),
        experiment,
        STALE if stale else _status(parent),
        f"{len(children)}/{budget}",
        str(counts[RunStatus.FINISHED]),
        str(counts[RunStatus.PRUNED]),
        str(counts[RunStatus.FAILED]),
        str(counts[RunStatus.KILLED]),  # stopped (Ctrl-C, a lost worker), not failed: as the run summary says
        _best_text(parent, children),
        _when(parent.start_time),
    )


@click.command()
@click.argument("sweep_id")
@click.option("--top", "top_k", default=10, show_default=True, type=click.IntRange(min=1), help="Trials shown.")
@store_option
def show(sweep_id: str, top_k: int, store: str | None) -> None:
    """The leaderboard of a sweep, best trial first."""
    with open_client(store, must_exist=True) as client, _sweep_errors():
        parent = find_sweep(client, sweep_id)
        sweep_id = parent.tags.get(layout.SWEEP_ID, sweep_id)  # the whole id, when a prefix named it
        # Read the trials once: a 20,000-trial sweep takes seconds per read.
        children = client.child_runs(parent.run_id)
        sweep = sweep_of(client, parent, children)
        frame = leaderboard_of(sweep, top_k=top_k)
        noise = noise_text_of(sweep)  # `repeats:`: best vs runner-up against the seed noise
        counts = Counter(r.status for r in children)
        running = parent.status is RunStatus.RUNNING
        stale = running and is_stale(parent, sweep_leases(client.uri, [parent.run_id])[parent.run_id])
    duration = format_duration(parent.duration_s) if parent.duration_s is not None else "running"
    status = STALE if stale else _status(parent)
    click.echo(
        f"sweep {sweep_id} · {status} · {len(children)}/{parent.tags.get(layout.BUDGET_TRIALS, '?')} "
        f"trials ({counts[RunStatus.FINISHED]} finished, {counts[RunStatus.PRUNED]} pruned, "
        f"{counts[RunStatus.FAILED]} failed) · {duration}"
    )
    click.echo(f"best: {_best_text(parent, children)}")
    if parent.tags.get(layout.REGISTERED):
        click.echo(f"registered: {parent.tags[layout.REGISTERED]}")
    if parent.error:
        click.echo(f"error: {mask_password(parent.error.splitlines()[0])}")
    if frame.is_empty():
        click.echo("no trials yet")
        return
    _echo_table(*leaderboard_table(frame))
    if noise is not None:
        click.echo(noise)
    _echo_failed_output(children)


def _echo_failed_output(children: Sequence[Run], shown: int = 3) -> None:
    """The last lines a failed trial printed, next to its error (all of it is its `output.log`)."""
    failed = [r for r in children if r.status is RunStatus.FAILED and r.tags.get(OUTPUT_TAIL)]
    failed.sort(key=lambda r: r.start_time or 0)
    for run in failed[:shown]:
        error = (run.error or "").strip().splitlines()
        click.echo(f"\n{run.name} failed: {error[-1] if error else 'unknown error'}")
        click.echo("its output ended with:")
        for line in run.tags[OUTPUT_TAIL].splitlines():
            click.echo(f"  | {line}")
    if len(failed) > shown:
        click.echo(f"... {len(failed) - shown} more failed trials with output (see their output.log artifacts)")


# -- shaping ----------------------------------------------------------------------------------


def leaderboard_table(frame: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The columns worth a terminal line from a leaderboard frame (reports' or the engine's)."""
    cols = frame.columns
    chosen = [c for c in ("rank", "trial", "status", "front") if c in cols]
    chosen += [c for c in cols if c.startswith(layout.OBJECTIVE_PREFIX)]
    chosen += [c for c in ("n", "mean", "ci_low", "ci_high") if c in cols]  # `repeats:`: one row per configuration
    chosen += [c for c in cols if c.startswith("params.")][:MAX_PARAM_COLUMNS]
    chosen += [c for c in ("duration_s", "run_id") if c in cols]
    if "error" in cols and frame["error"].drop_nulls().len() > 0:
        chosen.append("error")
    headers = [c.removeprefix("params.") for c in chosen]
    rows = [[_cell(name, row.get(name)) for name in chosen] for row in frame.select(chosen).iter_rows(named=True)]
    return headers, rows


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if column == "run_id":
        return str(value)[:12]
    if column == "duration_s" and isinstance(value, int | float):
        return f"{value:.1f}"
    if column == "error":
        return str(value).splitlines()[0][:60] if str(value) else ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else format_value(value)
    if column.startswith("params.") and isinstance(value, str):
        return _short_number(value)
    return str(value)


def _short_number(text: str) -> str:
    # Params are stored as text; a float sampled on a log scale is unreadable at full precision.
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() and "e" not in text.lower() else f"{number:.4g}"


def _echo_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], echo: Callable[[str], None] = click.echo
) -> None:
    # Plain aligned text, no colours or box drawing: readable in a terminal, a log and a pipe.
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _metric_names(parent: Run) -> list[str]:
    try:
        return [m["name"] for m in layout.metric_specs(parent.tags)]
    except ValueError:
        return []


def _status(parent: Run) -> str:
    return parent.status.value


def _best_text(parent: Run, children: Sequence[Run]) -> str:
    """`val_accuracy=0.961 (trial-7)` from the parent's tags, else from the children."""
    names = _metric_names(parent)
    name = names[0] if names else None
    value = parent.tags.get(layout.BEST_VALUE)
    best_id = parent.tags.get(layout.BEST_RUN_ID)
    by_id = {r.run_id: r for r in children}
    if value is None and name is not None:
        winner = best_run(children, name, goal_of(parent.tags))
        if winner is not None:
            value, best_id = repr(objective_value(winner, name)), winner.run_id
    if value is None:
        return "-"
    try:
        shown = format_value(float(value))
    except ValueError:
        shown = value
    trial = f" ({by_id[best_id].name})" if best_id in by_id else ""
    return f"{name}={shown}{trial}" if name else f"{shown}{trial}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
