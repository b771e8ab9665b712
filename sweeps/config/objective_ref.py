"""Resolve the config's `objective:` reference ("module:function" or "file.py:function")."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from sweeps.errors import ConfigError, ConfigProblem, did_you_mean

__all__ = ["resolve_objective"]


def _fail(message: str) -> ConfigError:
    return ConfigError([ConfigProblem(path="objective", message=message)])


def resolve_objective(spec: str, base_dir: str | os.PathLike[str] | None = None) -> Callable[..., object]:
    """Import the objective; a relative file path is looked up in `base_dir`, then the cwd."""
    target, sep, attr = spec.strip().rpartition(":")
    if not sep or not target or not attr:
        raise _fail(f"expected 'module:function' or 'path/to/file.py:function', got {spec!r}")
    module = _load_file(target, base_dir) if target.endswith(".py") else _import(target)
    obj: object = module
    trail = target
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise _fail(f"'{trail}' has no attribute '{part}'{did_you_mean(part, names)}")
        obj = getattr(obj, part)
        trail = f"{trail}:{part}" if trail == target else f"{trail}.{part}"
    if not callable(obj):
        raise _fail(f"'{spec}' is a {type(obj).__name__}, not a function")
    return obj


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise _fail(f"module '{name}' not found (is it installed or on PYTHONPATH?)") from exc
        raise _fail(f"importing '{name}' failed: {exc}") from exc
    except Exception as exc:  # the user's module may raise anything at import time
        raise _fail(f"importing '{name}' raised {type(exc).__name__}: {exc}") from exc


def _find_file(target: str, base_dir: str | os.PathLike[str] | None) -> Path:
    path = Path(target).expanduser()
    candidates = [path] if path.is_absolute() else []
    if not candidates:
        if base_dir is not None:
            candidates.append(Path(base_dir) / path)
        candidates.append(Path.cwd() / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise _fail(f"file '{target}' not found (looked at {looked})")


def _load_file(target: str, base_dir: str | os.PathLike[str] | None) -> ModuleType:
    path = _find_file(target, base_dir)
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"_sweeps_objective_{path.stem.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _fail(f"cannot load '{path}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let the file import its sibling modules, as `python file.py` would.
    folder = str(path.parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file may raise anything when it runs
        sys.modules.pop(name, None)
        raise _fail(f"loading '{path}' raised {type(exc).__name__}: {exc}") from exc
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    _pickle_by_value(module)
    return module


def _pickle_by_value(module: ModuleType) -> None:
    # Ray workers cannot import a module loaded from a file path; ship its code instead.
    try:
        import cloudpickle
    except ImportError:
        return
    cloudpickle.register_pickle_by_value(module)
