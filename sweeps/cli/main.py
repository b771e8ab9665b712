"""Entry point of the ``sweeps`` command: builds the click group from the command modules."""

from __future__ import annotations

import importlib
import sys

import click

# Command name -> (module, attribute, one-line help). Modules are imported only when their command
# runs: `sweeps models promote` in a CI job should not pay for matplotlib or Ray, and `sweeps --help`
# lists the commands from the help here without importing any of them.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("sweeps.cli.run_cmd", "run", "Run the sweep described by a YAML config."),
    "resume": ("sweeps.cli.run_cmd", "resume", "Continue an interrupted sweep to its budget."),
    "list": ("sweeps.cli.run_cmd", "list_cmd", "List sweeps, newest first."),
    "show": ("sweeps.cli.run_cmd", "show", "Leaderboard and summary of one sweep."),
    "report": ("sweeps.cli.report_cmd", "report", "Write the self-contained HTML report of a sweep."),
    "compare": ("sweeps.cli.report_cmd", "compare", "Compare runs side by side."),
    "runs": ("sweeps.cli.runs_cmd", "runs", "Search runs (table, CSV or JSON); delete and restore them."),
    "gc": ("sweeps.cli.gc_cmd", "gc", "Purge deleted runs and their artifacts for good."),
    "models": ("sweeps.cli.models_cmd", "models", "Registered models: versions, aliases, stages, serving."),
    "db": ("sweeps.cli.runs_cmd", "db", "Schema of the tracking store."),
    "server": ("sweeps.cli.server_cmd", "server", "Serve the tracking API to a team (tokens, roles)."),
    "ui": ("sweeps.cli.server_cmd", "ui", "Serve your own store on this machine, without auth."),
    "auth": ("sweeps.cli.auth_cmd", "auth", "Users, tokens and grants of `sweeps server`."),
    "import": ("sweeps.cli.import_cmd", "import_group", "Import runs from another tracker (MLflow)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute, _ = target
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, _, short) in _COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sweeps")
def cli() -> None:
    """Sweeps: hyperparameter sweeps on Optuna + Ray, tracked and compared."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit codes: 0 ok, 1 failure, 2 bad usage or config, 3 champion kept."""
    try:
        # Without standalone mode, click returns the code a command gave to ctx.exit(n).
        returned = cli.main(args=argv, prog_name="sweeps", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
