"""Fixtures shared by the sweep tests: one local Ray for the session, a store per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracking


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for every sweep test: 2 CPUs, token auth set explicitly, no dashboard.

    Reused when Ray is already up in this process; shut down (never `ray stop`) at the end.
    """
    import ray

    from sweeps.engine.ray_backend import set_auth_mode

    if ray.is_initialized():
        yield
        return
    set_auth_mode("token")  # Ray 2.60 would pick a mode itself and warn; tests say it outright
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def ray_address(ray_session: None) -> str:
    """The GCS address of the session's Ray, for a driver subprocess to join (`execution.address`)."""
    import ray

    return ray.get_runtime_context().gcs_address


@dataclass(frozen=True)
class SweepPlace:
    """Where one test's sweeps live: a SQLite store and an artifact root under tmp_path."""

    root: Path
    store: str
    artifacts: str

    def client(self) -> tracking.TrackingClient:
        return tracking.connect(self.store, self.artifacts)


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SweepPlace:
    """A fresh store and artifact root; the working directory is tmp_path (reports land there)."""
    monkeypatch.chdir(tmp_path)
    return SweepPlace(tmp_path, f"sqlite:///{tmp_path / 'sweeps.db'}", str(tmp_path / "artifacts"))
