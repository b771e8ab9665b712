"""``sweeps models`` governance: a version's lineage, alias history, protection, webhooks, evidence bundles."""

from __future__ import annotations

import json

import click

from sweeps.cli.common import Failure, open_client, store_option, user_option, when_text
from tracking.client import TrackingClient
from tracking.errors import TrackingError
from tracking.evidence import BundleError, bundle_files, verify_bundle, write_bundle
from tracking.registry.history import held_at, holdings, parse_time
from tracking.registry.lineage import Lineage, lineage

EXIT_NOT_A_BUNDLE = 2

_format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)


def _yes_no(flag: bool | None) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


# -- show --version ---------------------------------------------------------------------------


def show_version(client: TrackingClient, name: str, version: int, fmt: str) -> None:
    """Print the lineage of ``name`` v``version`` (``sweeps models show NAME --version N``)."""
    found = lineage(client, name, version)
    if fmt == "json":
        click.echo(json.dumps(found.to_dict(), indent=2, sort_keys=False))
        return
    _print_lineage(found)


def _print_lineage(x: Lineage) -> None:
    echo = click.echo
    echo(f"{x.model_uri}  stage {x.stage}  aliases {' '.join('@' + a for a in x.aliases) or '-'}")
    echo(f"  source          {x.source}  (registered {when_text(x.created_at)} UTC)")
    echo(f"  payload sha256  {x.payload_sha256 or '-'}")
    if x.registered_sha256 and x.registered_sha256 != x.payload_sha256:
        echo(f"  registered sha256 {x.registered_sha256} (differs from the run's record)")
    echo("")
    echo(f"run {x.run_id or '-'}  status {x.run_status or '-'}")
    for key, value in sorted(x.run_params.items()):
        echo(f"  param  {key} = {value}")
    for key, metric in x.run_metrics.items():
        echo(f"  metric {key} = {'-' if metric is None else f'{metric:.6g}'}")
    for key, value in x.run_data_tags.items():
        echo(f"  data   {key} = {value}")
    echo("")
    if x.sweep is not None:
        s = x.sweep
        rank = f"{s.rank} of {s.finished} finished" if s.rank is not None else f"unranked ({s.finished} finished)"
        echo(f"sweep {s.sweep_id or '-'}  (parent run {s.parent_run_id})")
        echo(f"  sampler {s.sampler or '-'}, pruner {s.pruner or '-'}, objective {s.objective or '-'}")
        echo(f"  rank {rank} by {s.metric} ({s.goal}); {s.size} trials in the sweep")
        for key, value in s.data_tags.items():
            echo(f"  data   {key} = {value}")
        echo("  resolved config: in --format json, and in the evidence bundle")
    else:
        echo("sweep: none (the run is not a sweep's trial)")
    echo("")
    echo(
        f"code {x.code_commit or 'unknown'}  dirty {_yes_no(x.git_dirty)}  "
        f"objective untracked {_yes_no(x.objective_untracked)}"
    )
    if x.diff_sha256:
        echo(f"  diff sha256 {x.diff_sha256}")
    echo(f"python {x.python or '-'} on {x.platform or '-'}; {len(x.packages)} packages:")
    if x.packages:
        echo("  " + " ".join(f"{k}=={v}" for k, v in x.packages.items()))
    echo("")
    echo("audit (this version):")
    if not x.audit:
        echo("  none")
    for e in x.audit:
        echo(f"  {when_text(e.at)}  {e.actor}  {e.describe()}")
    for note in x.notes:
        echo(f"note: {note}")


# -- history ----------------------------------------------------------------------------------


@click.command("history")
@click.argument("name")
@click.option("--alias", default=None, help="Only this alias (e.g. champion) or stage (e.g. Production).")
@click.option("--at", "at_text", default=None, help="ISO-8601 time: who held it then (naive times are UTC).")
@_format_option
@store_option
def history(name: str, alias: str | None, at_text: str | None, fmt: str, store: str | None) -> None:
    """Which version held each alias or stage, when, moved by whom and why (from the audit log)."""
    with open_client(store, must_exist=True) as client:
        model = client.registry.get_registered_model(name)
        intervals = holdings(client.registry.audit_log(name))
        at = parse_time(at_text, created_at=model.created_at) if at_text is not None else None
    if alias is not None:
        wanted = alias.lower().lstrip("@")
        intervals = [h for h in intervals if h.subject.lower().lstrip("@") == wanted]
    shown = held_at(intervals, at) if at is not None else intervals
    if fmt == "json":
        click.echo(json.dumps({"model": name, "at": at_text, "holdings": [h.to_dict() for h in shown]}, indent=2))
        return
    if not shown:
        what = f"@{alias.lstrip('@')} (or stage {alias})" if alias else "any alias or stage"
        click.echo(f"no version held {what} of {name}" + (f" at {at_text}" if at_text else ""))
        return
    for h in shown:
        until = when_text(h.until) if h.until is not None else "now"
        why = f" ({h.reason})" if h.reason else ""
        click.echo(f"{h.subject:<14} v{h.version:<5} {when_text(h.since)} -> {until}  by {h.actor}{why}")


# -- protect / unprotect ------------------------------------------------------------------------


@click.command("protect")
@click.argument("name")
@click.argument("alias")
@click.option("--reason", default=None, help="Why; kept in the audit log.")
@user_option
@store_option
def protect(name: str, alias: str, reason: str | None, user: str | None, store: str | None) -> None:
    """Protect ALIAS of NAME: moving it afterwards needs a --reason (and the manage role on a server)."""
    with open_client(store, must_exist=True) as client:
        changed = client.registry.protect_alias(name, alias, reason=reason, actor=user)
    click.echo(f"{name}@{alias} is protected" + ("" if changed else " (it was already)"))


@click.command("unprotect")
@click.argument("name")
@click.argument("alias")
@click.option("--reason", required=True, help="Why; kept in the audit log.")
@user_option
@store_option
def unprotect(name: str, alias: str, reason: str, user: str | None, store: str | None) -> None:
    """Lift the protection of ALIAS of NAME."""
    with open_client(store, must_exist=True) as client:
        client.registry.unprotect_alias(name, alias, reason=reason, actor=user)
    click.echo(f"{name}@{alias} is no longer protected")


# -- webhooks -------------------------------------------------------------------------------------


@click.group("webhook")
def webhook() -> None:
    """Signed HTTP callbacks for registrations, alias moves, stage changes and promotions."""


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--secret", required=True, help="Signing secret (HMAC-SHA256); stored sealed, never shown again.")
@click.option("--events", default="register,alias,stage,promote", show_default=True, help="Comma-separated.")
@user_option
@store_option
def webhook_add(name: str, url: str, secret: str, events: str, user: str | None, store: str | None) -> None:
    """POST each chosen event of model NAME to URL."""
    with open_client(store, must_exist=True) as client:
        hook = client.registry.add_webhook(name, url, secret, events, actor=user)
    click.echo(f"webhook {hook.webhook_id}: {hook.url} for {','.join(hook.events)} of {name}")


@webhook.command("list")
@click.argument("name")
@store_option
def webhook_list(name: str, store: str | None) -> None:
    """List the webhooks of model NAME (their secrets are never shown)."""
    with open_client(store, must_exist=True) as client:
        hooks = client.registry.list_webhooks(name)
    if not hooks:
        click.echo(f"no webhooks on {name}")
    for h in hooks:
        click.echo(
            f"{h.webhook_id:<5} {h.url}  events {','.join(h.events)}  added {when_text(h.created_at)} by {h.actor}"
        )
        if h.deliveries is not None:
            d = h.deliveries
            line = f"      delivered {d.delivered}, pending {d.pending}, given up {d.given_up}"
            click.echo(line + (f"; last error: {d.last_error}" if d.last_error else ""))
            if d.given_up:
                click.echo(
                    f"      `sweeps models webhook redeliver {name} {h.webhook_id}` queues the given-up events again"
                )


@webhook.command("remove")
@click.argument("name")
@click.argument("webhook_id", type=click.IntRange(min=1))
@user_option
@store_option
def webhook_remove(name: str, webhook_id: int, user: str | None, store: str | None) -> None:
    """Remove webhook WEBHOOK_ID of model NAME (its undelivered events with it)."""
    with open_client(store, must_exist=True) as client:
        client.registry.remove_webhook(name, webhook_id, actor=user)
    click.echo(f"webhook {webhook_id} of {name} removed")


@webhook.command("redeliver")
@click.argument("name")
@click.argument("webhook_id", type=click.IntRange(min=1))
@user_option
@store_option
def webhook_redeliver(name: str, webhook_id: int, user: str | None, store: str | None) -> None:
    """Queue again the events webhook WEBHOOK_ID of model NAME gave up on (after 3 days of retries)."""
    with open_client(store, must_exist=True) as client:
        queued = client.registry.redeliver_webhook(name, webhook_id, actor=user)
        left = client.registry.deliver_webhooks() if queued else 0
    if not queued:
        click.echo(f"webhook {webhook_id} of {name} has no given-up events")
        return
    sent = f"; {left} still pending (a running `sweeps server` keeps trying)" if left else "; delivered"
    click.echo(f"webhook {webhook_id} of {name}: {queued} event(s) queued again" + sent)


# -- evidence / verify ------------------------------------------------------------------------------


@click.command("evidence")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), required=True, help="The model version.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The zip to write.")
@store_option
def evidence(name: str, version: int, output: str, store: str | None) -> None:
    """Write an offline evidence bundle of NAME VERSION: lineage, report, config, environment, audit log."""
    with open_client(store, must_exist=True) as client:
        found = lineage(client, name, version)
        files = bundle_files(
            found.to_dict(),
            report_html=_report(client, found),
            config=found.sweep.config if found.sweep is not None else None,
            environment=dict(found.environment) if found.environment else None,
            model_metadata=_model_metadata(client, found),
            audit_log=[_audit(e) for e in client.registry.audit_log(name)],
        )
    try:
        path = write_bundle(output, files, subject=found.model_uri)
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {path}: {', '.join(sorted(files))} + manifest.json")


def _audit(e: object) -> dict[str, object]:
    from tracking.wire import audit_to

    return audit_to(e)  # type: ignore[arg-type]


def _report(client: TrackingClient, found: Lineage) -> str | None:
    if found.sweep is None or found.sweep.sweep_id is None:
        return None
    from reports import load_sweep, render_report  # the report code only where a bundle needs it

    try:
        return render_report(client, load_sweep(client, found.sweep.sweep_id))
    except (TrackingError, LookupError, ValueError) as exc:
        click.echo(f"warning: no report in the bundle: {exc}", err=True)
        return None


def _model_metadata(client: TrackingClient, found: Lineage) -> bytes | None:
    from tracking.models._info import METADATA_FILE

    if found.run_id is None or not found.source.startswith(f"runs:/{found.run_id}/"):
        return None
    path = found.source[len(f"runs:/{found.run_id}/") :]
    try:
        return client.artifacts(found.run_id).read_bytes(f"{path}/{METADATA_FILE}")
    except (FileNotFoundError, OSError, TrackingError):
        return None


@click.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False))
def verify(bundle: str) -> None:
    """Check an evidence bundle: exit 0 intact, 1 a file changed/added/removed, 2 not a bundle."""
    try:
        result = verify_bundle(bundle)
    except BundleError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(EXIT_NOT_A_BUNDLE) from None
    if not result.ok:
        raise Failure(f"{bundle} is tampered or incomplete: {result.problem}")
    click.echo(f"{bundle}: intact ({result.files} files match the manifest)")


COMMANDS = (history, protect, unprotect, webhook, evidence, verify)
