"""The server reads its newest sweeps ahead when it starts: their page data and importances are in
the caches the requests read, what a request then answers is what a fresh read gives, and a
sweep that moves on is read again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from synthetic import make_sweep

import tracking
from reports.sweep import find_sweep, sweep_of
from reports.ui import sweep_page
from reports.ui.core import Ui, dumps
from reports.ui.sweep_data import payload
from sweeps.server_app import ServerConfig, build
from tests.support import server as http_support


def _join_warm_up() -> None:
    for thread in threading.enumerate():
        if thread.name == "sweeps-ui-warm-up":
            thread.join(60)
            assert not thread.is_alive()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Starlette, str, str]]:
    uri, artifacts = f"sqlite:///{tmp_path / 'store.db'}", str(tmp_path / "artifacts")
    with tracking.connect(uri, artifacts=artifacts) as client:
        for i in range(sweep_page.WARM_SWEEPS + 1):  # the oldest is left to its first request
            make_sweep(client, sweep_id=f"warm-{i:08d}", n_trials=8, random_seed=i)
        client.flush()
    app, store = build(ServerConfig(uri, artifacts, auth="open"))
    try:
        yield app, uri, artifacts
    finally:
        app.state.webhook_stop.set()
        store.close()


def test_the_newest_sweeps_are_read_ahead_and_answer_as_a_fresh_read(app: tuple[Starlette, str, str]) -> None:
    starlette_app, uri, artifacts = app
    _join_warm_up()
    ui: Ui = starlette_app.state.ui
    with tracking.connect(uri, artifacts=artifacts) as client:
        parents = {f"warm-{i:08d}": find_sweep(client, f"warm-{i:08d}") for i in range(sweep_page.WARM_SWEEPS + 1)}
        by_start = sorted(parents, key=lambda s: parents[s].start_time, reverse=True)
        newest, oldest = by_start[: sweep_page.WARM_SWEEPS], by_start[-1]
        assert set(ui.cache["sweeps"]) == {parents[s].run_id for s in newest}
        assert set(ui.cache["importances"]) == set(newest)
        with http_support.serving(starlette_app) as base, httpx.Client(base_url=base) as http:
            for sweep_id in newest:
                answer = http.get(f"/ui/api/sweeps/{sweep_id}")
                fresh = dumps(payload(client, sweep_of(client, parents[sweep_id])))
                # The summary's duration of a finished sweep is fixed: the bytes are the same.
                assert answer.status_code == 200 and answer.text == fresh
            assert parents[oldest].run_id not in ui.cache["sweeps"]
            assert http.get(f"/ui/api/sweeps/{oldest}").status_code == 200
            assert parents[oldest].run_id in ui.cache["sweeps"]  # read by its first request

            # A trial more: the cached page is stale and the next request reads the sweep again.
            moving = parents[newest[-1]]
            before = json.loads(http.get(f"/ui/api/sweeps/{newest[-1]}").text)["progress"]["trials"]
            tags = {"sweeps.kind": "trial", "sweeps.sweep_id": newest[-1], "sweeps.trial_number": str(before)}
            with client.start_run(experiment="demo", parent=moving.run_id, tags=tags) as run:
                run.log_params({"lr": "0.01"})
            client.flush()
            after = json.loads(http.get(f"/ui/api/sweeps/{newest[-1]}").text)["progress"]["trials"]
            assert after == before + 1


def test_a_server_of_plain_runs_reads_nothing_ahead(tmp_path: Path) -> None:
    uri, artifacts = f"sqlite:///{tmp_path / 'store.db'}", str(tmp_path / "artifacts")
    with tracking.connect(uri, artifacts=artifacts) as client:
        client.start_run(experiment="plain", name="one").end()
    starlette_app, store = build(ServerConfig(uri, artifacts, auth="open"))
    try:
        _join_warm_up()
        ui: Ui = starlette_app.state.ui
        assert ui.cache.get("sweeps", {}) == {} and ui.cache.get("importances", {}) == {}
    finally:
        starlette_app.state.webhook_stop.set()
        store.close()
