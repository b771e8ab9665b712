"""``sweeps models``: list, inspect, alias, stage and promote registered models (promote gates CI); serve, predict."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import click

from sweeps.cli.common import open_client, store_option, user_option, when_text
from tracking.errors import TrackingError
from tracking.registry import ModelRegistry, PromotionDecision, Stage, check_alias

EXIT_CHAMPION_KEPT = 3

_reason_option = click.option("--reason", default=None, help="Why; kept in the audit log.")


@contextmanager
def _registry(store: str | None) -> Iterator[ModelRegistry]:
    """The registry of ``store``; store errors exit 1 with one masked line."""
    with open_client(store, must_exist=True) as client:
        yield client.registry
        # A change's webhook events: tried for a few seconds; what is left a server delivers.
        client.registry.deliver_webhooks()


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], echo: Callable[[str], None]) -> None:
    cells = [[str(c) for c in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@click.group()
def models() -> None:
    """Registered models: versions, aliases, stages, audit log, promotion, serving and batch scoring."""


@models.command("list")
@store_option
def list_models(store: str | None) -> None:
    """List registered models with their latest version and aliases."""
    with _registry(store) as registry:
        found = registry.list_registered_models()
    if not found:
        click.echo("no registered models")
        return
    rows = [
        (
            m.name,
            m.latest_version or "-",
            " ".join(f"@{a}=v{v}" for a, v in m.aliases.items()) or "-",
            when_text(m.updated_at),
            m.description or "",
        )
        for m in found
    ]
    _table(("NAME", "LATEST", "ALIASES", "UPDATED (UTC)", "DESCRIPTION"), rows, click.echo)


@models.command("show")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help="The lineage of this version.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@store_option
def show(name: str, version: int | None, fmt: str, store: str | None) -> None:
    """Show a model's versions and audit log; with --version N, the whole lineage of that version."""
    if version is not None:
        from sweeps.cli.models_lineage_cmd import show_version

        with open_client(store, must_exist=True) as client:
            show_version(client, name, version, fmt)
        return
    with _registry(store) as registry:
        model = registry.get_registered_model(name)
        versions = registry.list_model_versions(name)
        log = registry.audit_log(name)
    click.echo(f"model {model.name}" + (f": {model.description}" if model.description else ""))
    for key, value in sorted(model.tags.items()):
        click.echo(f"  tag {key} = {value}")
    click.echo("")
    click.echo("versions:")
    if versions:
        rows = [
            (
                f"v{v.version}",
                v.stage.value,
                " ".join(f"@{a}" for a in v.aliases) or "-",
                v.run_id or "-",
                v.source,
                when_text(v.created_at),
            )
            for v in versions
        ]
        _table(("VERSION", "STAGE", "ALIASES", "RUN", "SOURCE", "CREATED (UTC)"), rows, click.echo)
    else:
        click.echo("  none")
    click.echo("")
    click.echo("audit log:")
    rows = [
        (
            when_text(e.at),
            e.actor,
            f"{e.action} {e.subject}" if e.subject and e.subject != e.action else e.action,
            f"v{e.version}" if e.version is not None else "-",
            e.from_value or "-",
            e.to_value or "-",
            e.reason or "",
        )
        for e in log
    ]
    _table(("WHEN (UTC)", "WHO", "WHAT", "VERSION", "FROM", "TO", "WHY"), rows, click.echo)


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=click.IntRange(min=1))
@_reason_option
@user_option
@store_option
def alias(name: str, alias: str, version: int, reason: str | None, user: str | None, store: str | None) -> None:
    """Point ALIAS (e.g. challenger) of model NAME at VERSION."""
    try:
        check_alias(alias)
    except TrackingError as exc:
        raise click.BadParameter(str(exc), param_hint="ALIAS") from exc
    with _registry(store) as registry:
        before = registry.get_registered_model(name).aliases.get(alias)
        registry.set_alias(name, alias, version, reason=reason, actor=user)
    moved = f" (moved from v{before})" if before is not None and before != version else ""
    click.echo(f"{name}@{alias} -> v{version}{moved}")


@models.command("stage")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("stage", type=click.Choice([s.value for s in Stage], case_sensitive=False))
@click.option("--archive-existing", is_flag=True, help="Archive the other versions in that stage.")
@_reason_option
@user_option
@store_option
def stage(
    name: str,
    version: int,
    stage: str,
    archive_existing: bool,
    reason: str | None,
    user: str | None,
    store: str | None,
) -> None:
    """Move VERSION of model NAME to STAGE (None, Staging, Production, Archived)."""
    target = Stage.parse(stage)
    with _registry(store) as registry:
        others = [v.version for v in registry.list_model_versions(name, target) if v.version != version]
        registry.transition_stage(name, version, target, archive_existing=archive_existing, reason=reason, actor=user)
    click.echo(f"{name} v{version} -> {target.value}")
    if archive_existing and others:
        click.echo("archived: " + ", ".join(f"v{v}" for v in others))


@models.command("promote")
@click.argument("name")
@click.option("--metric", required=True, help="Metric to compare, as logged by the versions' runs.")
@click.option("--goal", required=True, type=click.Choice(["maximize", "minimize"], case_sensitive=False))
@click.option(
    "--min-delta",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    help="How much better the challenger must be.",
)
@_reason_option
@user_option
@store_option
def promote(
    name: str,
    metric: str,
    goal: str,
    min_delta: float,
    reason: str | None,
    user: str | None,
    store: str | None,
) -> None:
    """Make @challenger the @champion of NAME if it wins on METRIC.

    Exit status 0 when promoted, 3 when the champion stays, 1 on error: a CI job can gate on it.
    """
    with _registry(store) as registry:
        decision = registry.promote(name, metric, goal.lower(), min_delta, reason=reason, actor=user)
    _print_decision(decision)
    if not decision.promoted:
        # SystemExit rather than ctx.exit: click hands ctx.exit's code back as a return value
        # in non-standalone mode, where sweeps.cli.main would drop it.
        raise SystemExit(EXIT_CHAMPION_KEPT)


def _print_decision(d: PromotionDecision) -> None:
    def value(v: float | None) -> str:
        return "-" if v is None else f"{v:.6g}"

    if d.promoted:
        was = f" (was v{d.champion_before})" if d.champion_before is not None else ""
        click.echo(f"promoted: {d.name}@champion is now v{d.champion_after}{was}")
    else:
        click.echo(f"kept: {d.name}@champion stays v{d.champion_after}")
    champion = f"v{d.champion_before}" if d.champion_before is not None else "none"
    click.echo(
        f"  {d.metric} ({d.goal}): challenger v{d.challenger_version} = {value(d.challenger_value)}, "
        f"champion {champion} = {value(d.champion_value)}, min_delta {d.min_delta:g}"
    )
    click.echo(f"  reason: {d.reason}")


def _add_serving_commands() -> None:
    # Their heavy imports (uvicorn, polars readers) wait until one of them runs.
    from sweeps.cli.models_lineage_cmd import COMMANDS
    from sweeps.cli.serve_cmd import predict, serve

    models.add_command(serve)
    models.add_command(predict)
    for command in COMMANDS:
        models.add_command(command)


_add_serving_commands()
