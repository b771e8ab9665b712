"""Entry point of the ``sweeps`` command: builds the click group from the command modules."""

from __future__ import annotations

import importlib
import sys

import click

# Each module defines a click command or group named in this table; a module that is not
# present yet is skipped so that parts of the CLI can land independently.
_COMMANDS = (
    ("sweeps.cli.run_cmd", ("run", "resume", "list_cmd", "show")),
    ("sweeps.cli.runs_cmd", ("runs", "db")),
    ("sweeps.cli.report_cmd", ("report", "compare")),
    ("sweeps.cli.models_cmd", ("models",)),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sweeps")
def cli() -> None:
    """Sweeps: hyperparameter sweeps on Optuna + Ray, tracked and compared."""


def _register() -> None:
    for module_name, names in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for name in names:
            command = getattr(module, name, None)
            if command is not None:
                cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit codes: 0 ok, 1 failure, 2 bad usage or config, 3 champion kept."""
    _register()
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
