"""What a Ray worker imports: the trial path stays free of the driver's heavy dependencies."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import types

import pytest

import sweeps
import sweeps.engine
import tracking

# What a worker process imports to run a trial (besides Ray, Optuna and the objective).
WORKER_MODULES = (
    "sweeps.engine.ray_worker",
    "sweeps.engine.executor",
    "sweeps.engine.messages",
    "sweeps.trial",
    "sweeps.engine.shipping",
    "sweeps.errors",
)
# Driver-side dependencies a worker must not load: together they cost more than half a second.
HEAVY = ("sqlalchemy", "alembic", "polars", "pandas", "matplotlib", "jinja2", "yaml", "fsspec")


def _heavy_loaded_by(modules: list[str], *, after_ray: bool) -> list[str]:
    """The heavy modules that importing ``modules`` loads, in a fresh interpreter.

    With ``after_ray``, Ray is imported first, as in a worker, and only what our modules add
    counts: Ray brings in YAML itself.
    """
    code = f"""
import importlib, json, sys
if {after_ray!r}:
    import ray
before = set(sys.modules)
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules and m not in before)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr  # a module that does not exist fails here, never drops out
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", WORKER_MODULES)
def test_every_worker_module_exists(name: str) -> None:
    # A renamed module must be renamed here too, not silently leave the budget unchecked.
    assert importlib.util.find_spec(name) is not None, f"{name} is listed in WORKER_MODULES but does not exist"


def test_worker_modules_load_no_driver_dependencies() -> None:
    without_ray = [name for name in WORKER_MODULES if name != "sweeps.engine.ray_worker"]
    assert _heavy_loaded_by(without_ray, after_ray=False) == []


def test_the_ray_worker_module_loads_no_driver_dependencies() -> None:
    assert _heavy_loaded_by(list(WORKER_MODULES), after_ray=True) == []


def test_the_check_sees_a_driver_dependency_being_loaded() -> None:
    # The two checks above pass on an empty answer; this proves the probe reports what it should.
    assert "sqlalchemy" in _heavy_loaded_by(["tracking.store.sql_store"], after_ray=False)


@pytest.mark.parametrize("package", [sweeps, sweeps.engine, tracking], ids=lambda p: p.__name__)
def test_every_exported_name_resolves_and_is_listed(package: types.ModuleType) -> None:
    # The package __init__ files import lazily; each name must still come out as before.
    for name in package.__all__:
        assert getattr(package, name) is not None, name
        assert name in dir(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018


def test_lazy_names_are_the_objects_of_their_modules() -> None:
    from sweeps import Trial, TrialPruned, run
    from tracking import MetricSink, TrackingClient, connect

    trial, client = importlib.import_module("sweeps.trial"), importlib.import_module("tracking.client")
    assert run is importlib.import_module("sweeps.engine.driver").run
    assert (Trial, TrialPruned) == (trial.Trial, trial.TrialPruned)
    assert (connect, TrackingClient) == (client.connect, client.TrackingClient)
    assert MetricSink is importlib.import_module("tracking.sink").MetricSink
