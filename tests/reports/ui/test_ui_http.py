"""The UI's data endpoints over real HTTP (no browser): downsampling that keeps spikes, the loopback
and CSRF guards of `sweeps ui`, artifacts served inert, and SQL bucketing equal to the array path."""

from __future__ import annotations

import httpx
import numpy as np
from synthetic import XSS
from ui_support import LONG_STEPS, SPIKE_STEP, UiStore

import tracking
from reports.ui import series
from tests.support.server import ServerProcess
from tracking.store.sql_store import SqlStore


def test_a_long_series_is_downsampled_keeping_its_spike(ui_server: ServerProcess, ui_store: UiStore) -> None:
    url = f"{ui_server.url}/ui/api/runs/{ui_store.long_run}/series"
    whole = httpx.get(url, params={"key": "loss", "buckets": 200}).json()
    assert whole["total"] == LONG_STEPS and whole["downsampled"] is True
    assert len(whole["steps"]) <= 2 * 200 + 2
    assert max(whole["values"]) == 50.0 and SPIKE_STEP in whole["steps"]
    assert whole["steps"][0] == 0 and whole["steps"][-1] == LONG_STEPS - 1
    zoomed = httpx.get(
        url, params={"key": "loss", "buckets": 200, "lo": SPIKE_STEP - 100, "hi": SPIKE_STEP + 99}
    ).json()
    assert zoomed["downsampled"] is False
    assert zoomed["steps"] == list(range(SPIKE_STEP - 100, SPIKE_STEP + 100))


def test_sqlite_buckets_keep_what_the_array_path_keeps(ui_store: UiStore) -> None:
    with tracking.connect(ui_store.uri, artifacts=ui_store.artifacts) as client:
        store = client._store
        assert isinstance(store, SqlStore)
        in_sql = series.series(store, ui_store.long_run, "loss", buckets=100)
        steps, values, _, _ = series.read_points(store, ui_store.long_run, "loss")
    # Per bucket, both keep the lowest and the highest value: the same values, whatever the steps.
    in_numpy = series.downsample(steps, values, 100)
    assert in_sql.total == LONG_STEPS and in_sql.downsampled
    assert np.isclose(in_sql.values.max(), in_numpy[1].max()) and np.isclose(in_sql.values.min(), in_numpy[1].min())
    assert abs(len(in_sql.steps) - len(in_numpy[0])) <= 4  # bucket edges may fall one step apart


def test_sweeps_ui_answers_loopback_names_only(ui_server: ServerProcess) -> None:
    assert httpx.get(ui_server.url + "/").status_code == 200
    rebound = httpx.get(ui_server.url + "/", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400
    assert httpx.get(ui_server.url + "/ui/api/experiments", headers={"Host": "attacker.example:80"}).status_code == 400


def test_an_action_without_the_pages_csrf_token_is_refused(ui_server: ServerProcess, ui_store: UiStore) -> None:
    url = f"{ui_server.url}/ui/api/models/{ui_store.model}/alias"
    body = {"alias": "champion", "version": 2}
    assert httpx.post(url, json=body).status_code == 403
    assert httpx.post(url, json=body, headers={"X-CSRF-Token": "guessed"}).status_code == 403
    page = httpx.get(f"{ui_server.url}/models/{ui_store.model}").text
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    cross_site = httpx.post(url, json=body, headers={"X-CSRF-Token": token, "Origin": "https://attacker.example"})
    assert cross_site.status_code == 403
    with tracking.connect(ui_store.uri, artifacts=ui_store.artifacts) as client:
        assert client.registry.get_registered_model(ui_store.model).aliases["champion"] == 1  # nothing moved


def test_artifacts_are_served_inert(ui_server: ServerProcess, ui_store: UiStore) -> None:
    answer = httpx.get(f"{ui_server.url}/ui/api/runs/{ui_store.xss_run}/file", params={"path": f"{XSS}.txt"})
    assert answer.status_code == 200 and answer.text == XSS
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-security-policy"].startswith("sandbox")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-disposition"].startswith("attachment")


def test_pages_carry_data_as_inert_json(ui_server: ServerProcess, ui_store: UiStore) -> None:
    page = httpx.get(f"{ui_server.url}/runs/{ui_store.xss_run}")
    assert page.status_code == 200
    assert XSS not in page.text  # not even inside the JSON: <, > and & are escaped there
    assert "\\u003cimg" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_bad_filter_answers_with_its_position(ui_server: ServerProcess) -> None:
    answer = httpx.get(f"{ui_server.url}/ui/api/experiments/demo/runs", params={"filter": "metrics.x >> 1"})
    assert answer.status_code == 200
    error = answer.json()["filter_error"]
    assert error["position"] == 11 and error["text"] == "metrics.x >> 1"


def test_the_sweep_page_draws_the_scales_the_report_chooses(ui_server: ServerProcess, ui_store: UiStore) -> None:
    from reports.plot_data import choose_scale

    data = httpx.get(f"{ui_server.url}/ui/api/sweeps/{ui_store.demo_sweep}").json()
    assert data["history"], data
    for history in data["history"]:  # one rule for the report's figures and the live page
        values = [v for v in history["values"] + history["pruned_values"] if v is not None]
        assert history["scale"] == choose_scale(np.array(values, dtype=float))
    curves = data["curves"]
    assert curves["scale"] == choose_scale(
        *(np.array([v for v in s["values"] if v is not None]) for s in curves["series"])
    )
