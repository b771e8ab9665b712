"""The exported names of `sweeps` and `sweeps.engine`: pinned, resolvable, and exactly the public ones."""

from __future__ import annotations

import ast
import importlib
import inspect
import types

import pytest

import sweeps
import sweeps.engine

EXPECTED = {
    "sweeps": {
        "ConfigError",
        "SweepProgress",
        "SweepResult",
        "SweepsError",
        "Trial",
        "TrialPruned",
        "load_config",
        "resume",
        "run",
    },
    "sweeps.engine": {
        "ProgressCallback",
        "RunningTrial",
        "SweepProgress",
        "SweepResult",
        "find_sweep",
        "leaderboard",
        "resume",
        "run",
    },
}
# Names an __init__ binds to do its own work, not to export.
PLUMBING = {"annotations", "TYPE_CHECKING", "lazy_exports"}
PACKAGES = [sweeps, sweeps.engine]


def top_level_names(source: str) -> set[str]:
    """Every name a module's source binds at module level, `if TYPE_CHECKING:` imports included.

    Read from the source, not from dir(): a loaded submodule is an attribute of its package
    without being a name the __init__ exports.
    """
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)

    visit(ast.parse(source).body)
    return names


def public_names(package: types.ModuleType) -> set[str]:
    return {n for n in top_level_names(inspect.getsource(package)) if not n.startswith("_")} - PLUMBING


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_the_pinned_set(package: types.ModuleType) -> None:
    assert set(package.__all__) == EXPECTED[package.__name__]
    assert len(package.__all__) == len(set(package.__all__))  # listed once each


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_of_the_init_is_in_all_and_back(package: types.ModuleType) -> None:
    public = public_names(package)
    assert public - set(package.__all__) == set(), "public but not exported"
    assert set(package.__all__) - public == set(), "exported but never named in the __init__"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_exported_name_resolves_to_its_modules_object(package: types.ModuleType) -> None:
    lazy: dict[str, str] = package._LAZY  # type: ignore[attr-defined]
    for name in package.__all__:
        value = getattr(package, name)
        assert value is not None and name in dir(package), name
        if name in lazy:
            assert value is getattr(importlib.import_module(lazy[name]), name), name
    assert set(lazy) <= set(package.__all__), "a lazy name that is not exported"


def test_names_are_read_from_the_source_type_checking_imports_included() -> None:
    source = """
from typing import TYPE_CHECKING
from pkg.errors import Eager as Renamed
if TYPE_CHECKING:
    from pkg.driver import run, resume
else:
    Fallback = None
_PRIVATE = {}
__all__ = ["run"]
__getattr__, __dir__ = make()
def helper() -> None: ...
"""
    names = top_level_names(source)
    assert names == {"TYPE_CHECKING", "Renamed", "run", "resume", "Fallback", "_PRIVATE", "__all__", "__getattr__",
                     "__dir__", "helper"}  # fmt: skip
    importlib.import_module("sweeps.engine.driver")  # now an attribute of the package, still no export
    assert hasattr(sweeps.engine, "driver") and "driver" not in public_names(sweeps.engine)
