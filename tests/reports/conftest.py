"""Fixtures of the report tests: one SQLite store holding a handful of synthetic sweeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from synthetic import CATEGORICAL_SPACE, MULTI_OBJECTIVE, SweepSet, make_sweep

import tracking


@pytest.fixture(scope="session")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> SweepSet:
    root = tmp_path_factory.mktemp("report-store")
    uri, artifacts = f"sqlite:///{root / 'store.db'}", str(root / "artifacts")
    with tracking.connect(uri, artifacts=artifacts) as client:
        built = SweepSet(
            uri=uri,
            artifacts=artifacts,
            mixed=make_sweep(client, sweep_id="mixed-00000001", n_trials=24, random_seed=1),
            seeds=make_sweep(
                client, sweep_id="seeds-00000002", n_trials=24, seeds=4, pruned=0.0, failed=0.0, random_seed=2
            ),
            multi=make_sweep(client, sweep_id="multi-00000003", n_trials=24, objectives=MULTI_OBJECTIVE, random_seed=3),
            categorical=make_sweep(
                client, sweep_id="cat-00000004", n_trials=15, space=CATEGORICAL_SPACE, random_seed=4
            ),
            one=make_sweep(client, sweep_id="one-00000005", n_trials=1, pruned=0.0, failed=0.0, random_seed=5),
            failed=make_sweep(client, sweep_id="failed-00000006", n_trials=5, pruned=0.0, failed=1.0, random_seed=6),
            xss=make_sweep(client, sweep_id="xss-00000007", n_trials=12, xss=True, random_seed=7),
            bare=make_sweep(client, sweep_id="bare-00000008", n_trials=12, store_distributions=False, random_seed=8),
        )
    return built


@pytest.fixture
def report_client(sweeps: SweepSet) -> Iterator[tracking.TrackingClient]:
    client = tracking.connect(sweeps.uri, artifacts=sweeps.artifacts)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fresh_client(tmp_path: Path) -> Iterator[tracking.TrackingClient]:
    """A client on an empty store of its own, for tests that write."""
    client = tracking.connect(f"sqlite:///{tmp_path / 'own.db'}", artifacts=str(tmp_path / "artifacts"))
    try:
        yield client
    finally:
        client.close()
