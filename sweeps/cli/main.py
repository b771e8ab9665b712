"""Entry point of the ``sweeps`` command: builds the click group from the command modules."""

from __future__ import annotations

import importlib
import sys

import click

# Command name -> (module, attribute). Modules are imported only when their command runs:
# `sweeps models promote` in a CI job should not pay for matplotlib or Ray.
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("sweeps.cli.run_cmd", "run"),
    "resume": ("sweeps.cli.run_cmd", "resume"),
    "list": ("sweeps.cli.run_cmd", "list_cmd"),
    "show": ("sweeps.cli.run_cmd", "show"),
    "report": ("sweeps.cli.report_cmd", "report"),
    "compare": ("sweeps.cli.report_cmd", "compare"),
    "runs": ("sweeps.cli.runs_cmd", "runs"),
    "models": ("sweeps.cli.models_cmd", "models"),
    "db": ("sweeps.cli.runs_cmd", "db"),
    "server": ("sweeps.cli.server_cmd", "server"),
    "ui": ("sweeps.cli.server_cmd", "ui"),
    "auth": ("sweeps.cli.auth_cmd", "auth"),
    "import": ("sweeps.cli.import_cmd", "import_group"),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target
        return getattr(importlib.import_module(module_name), attribute)


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
