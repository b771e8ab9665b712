"""The layers inside `tracking`, read from the source: the registry and models sit below the client, never above."""

from __future__ import annotations

import ast
from pathlib import Path

import tracking

ROOT = Path(tracking.__file__).parent


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every `tracking.*` module a file imports, and whether the import sits inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("tracking"):
                found.append((child.module, in_function))
            elif isinstance(child, ast.Import):
                found.extend((a.name, in_function) for a in child.names if a.name.startswith("tracking"))
            visit(child, nested)

    visit(tree, False)
    return found


def _package_files(name: str) -> list[Path]:
    return sorted((ROOT / name).rglob("*.py"))


def test_registry_and_models_never_import_the_client_or_the_sql_store() -> None:
    for package in ("registry", "models"):
        for path in _package_files(package):
            for module, _ in _imports(path):
                assert not module.startswith(("tracking.client", "tracking.store.", "tracking.run_handle")), (
                    f"{path.relative_to(ROOT)} imports {module}: the registry and models sit below the client"
                )


def test_the_client_imports_registry_and_models_at_the_top_not_inside_functions() -> None:
    deferred = [
        m
        for m, inside in _imports(ROOT / "client.py")
        if inside and m.startswith(("tracking.registry", "tracking.models"))
    ]
    assert deferred == [], f"client.py defers {deferred}: a deferred import hides an import cycle"


def test_importing_the_client_first_does_not_need_a_cycle() -> None:
    import importlib
    import subprocess
    import sys

    for first in ("tracking.registry", "tracking.models", "tracking.client"):
        done = subprocess.run([sys.executable, "-c", f"import {first}"], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"import {first} alone failed: {done.stderr}"
    assert (
        importlib.import_module("tracking.client").ModelRegistry
        is importlib.import_module("tracking.registry").ModelRegistry
    )
