"""`sweeps --help` lists every command without importing any of them (no Optuna, Ray, NumPy or report code)."""

from __future__ import annotations

import subprocess
import sys

import click

from sweeps.cli.main import _COMMANDS, cli

HEAVY = ("reports", "optuna", "ray", "sqlalchemy", "uvicorn", "polars", "numpy", "sklearn")
PROBE = (
    "import sys; from sweeps.cli.main import main; code = main(['--help']); "
    f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules); "
    "print('HEAVY', heavy); sys.exit(code)"
)


def test_help_lists_every_command_and_imports_none_of_them() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    for name, (_, _, short) in _COMMANDS.items():
        assert f"{name} " in done.stdout and short in done.stdout


def test_every_listed_command_exists() -> None:
    ctx = click.Context(cli)
    for name in _COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command), name
