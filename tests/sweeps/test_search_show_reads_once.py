"""`sweeps show` of a large sweep: no plotting or scikit-learn imported, the trials read once."""

from __future__ import annotations

import json
import subprocess
import sys

import sweeps
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import sweep_config

HEAVY = ("sklearn", "matplotlib", "scipy.stats", "jinja2")

SHOW = """
import json, sys
from unittest import mock
from tracking.store.sql_store import SqlStore
from sweeps.cli.main import main

reads = []
original = SqlStore.child_runs
with mock.patch.object(SqlStore, "child_runs", lambda self, parent: reads.append(parent) or original(self, parent)):
    code = main(["show", sys.argv[1], "--store", sys.argv[2]])
print(json.dumps({"code": code, "reads": len(reads), "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def test_show_imports_no_plotting_and_reads_the_trials_once(place: SweepPlace) -> None:
    config = sweep_config(
        "xy",
        place.artifacts,
        trials=4,
        backend="local",
        parameters={"x": {"type": "float", "low": 0.0, "high": 1.0}, "y": {"type": "float", "low": -1.0, "high": 1.0}},
    )
    result = sweeps.run(config, store=place.store, no_report=True)
    code = f"HEAVY = {HEAVY!r}\n{SHOW}"
    done = subprocess.run(
        [sys.executable, "-c", code, result.sweep_id, place.store],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"sweep {result.sweep_id}" in done.stdout  # it did show the sweep
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"code": 0, "reads": 1, "heavy": []}
