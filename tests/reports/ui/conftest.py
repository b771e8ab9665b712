"""Fixtures of the live UI's browser tests: one store of sweeps, runs and models, one real
`sweeps ui` process in front of it, one Chromium for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ui_support
from synthetic import MULTI_OBJECTIVE, make_sweep
from ui_support import PAGED_RUNS, Tab, UiStore

import tracking
from tests.support import server as http_support
from tests.support.browser import launch_chromium


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UiStore:
    root = tmp_path_factory.mktemp("ui-store")
    uri, artifacts = f"sqlite:///{root / 'store.db'}", str(root / "artifacts")
    with tracking.connect(uri, artifacts=artifacts) as client:
        demo = make_sweep(client, sweep_id="demo-0a1b2c3d", n_trials=30, random_seed=1)
        multi = make_sweep(client, sweep_id="multi-00000003", n_trials=20, objectives=MULTI_OBJECTIVE, random_seed=3)
        xss = make_sweep(client, sweep_id="xss-00000007", experiment="xss", n_trials=10, xss=True, random_seed=7)
        live = make_sweep(
            client, sweep_id="live-00000009", experiment="live", n_trials=6, finish=False, realistic_times=False
        )
        for i in range(PAGED_RUNS):
            client.start_run(experiment="paged", name=f"run-{i:03d}", params={"i": i}).end()
        long_run = ui_support.long_run(client)
        xss_run = ui_support.xss_run(client)
        model = ui_support.model(client, list(demo.trial_run_ids[:2]))
        client.flush()
    return UiStore(
        uri,
        artifacts,
        demo.sweep_id,
        multi.sweep_id,
        xss.sweep_id,
        live.sweep_id,
        live.parent_run_id,
        long_run,
        xss_run,
        model,
    )


@pytest.fixture(scope="session")
def ui_server(ui_store: UiStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[http_support.ServerProcess]:
    logs = tmp_path_factory.mktemp("ui-logs")
    with http_support.running(ui_store.uri, Path(ui_store.artifacts), logs, command="ui") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Per module, not per session: while Playwright's sync API is open, this thread has a running
    # asyncio loop, and every later test calling asyncio.run() (or Playwright again) would fail.
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def tab(browser, ui_server: http_support.ServerProcess) -> Iterator[Tab]:  # type: ignore[no-untyped-def]
    opened = Tab(browser, ui_server.url)
    try:
        yield opened
    finally:
        opened.close()
