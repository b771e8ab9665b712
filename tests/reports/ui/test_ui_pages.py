"""The live UI in headless Chromium against a real `sweeps ui`: every page, the filter box, paging,
a sweep page that updates while trials arrive, zooming a long series, and payloads kept as text."""

from __future__ import annotations

import pytest
from synthetic import XSS
from ui_support import PAGED_RUNS, SPIKE_STEP, Tab, UiStore, add_live_trial

import tracking
from tracking.errors import FilterError
from tracking.search.filter import parse_filter

pytestmark = pytest.mark.browser


def _pages(store: UiStore, run_ids: list[str]) -> dict[str, str]:
    return {
        "experiments": "/",
        "runs": "/experiments/demo",
        "sweep": f"/sweeps/{store.demo_sweep}",
        "sweep-multi": f"/sweeps/{store.multi_sweep}",
        "run": f"/runs/{store.long_run}",
        "compare": f"/compare?runs={run_ids[0]},{run_ids[1]},{run_ids[2]}",
        "models": "/models",
        "model": f"/models/{store.model}",
        "version": f"/models/{store.model}/versions/1",
    }


def _trial_ids(store: UiStore, count: int = 3) -> list[str]:
    with tracking.connect(store.uri, artifacts=store.artifacts) as client:
        frame = client.search_runs("demo", filter="attributes.status = 'FINISHED'", max_results=count)
    return list(frame["run_id"])


def test_every_page_renders_offline_without_errors(browser, ui_server, ui_store: UiStore) -> None:  # type: ignore[no-untyped-def]
    pages = _pages(ui_store, _trial_ids(ui_store))
    tab = Tab(browser, ui_server.url, 1400)
    try:
        for name, path in pages.items():
            tab.page.set_viewport_size({"width": 1400, "height": 1000})
            answer = tab.open(path)
            assert answer.status == 200, (name, answer.status)
            charts = tab.page.locator(".chart")
            for index in range(charts.count()):
                charts.nth(index).locator(".main-svg").first.wait_for()
            tab.screenshot(f"{name}-1400.png")
            # The same page at 900 px: the layout and plotly's responsive charts follow the width.
            tab.page.set_viewport_size({"width": 900, "height": 1000})
            tab.page.wait_for_function("document.documentElement.clientWidth === 900")
            tab.page.wait_for_function(
                "[...document.querySelectorAll('.chart .main-svg, .pc-canvas')]"
                ".every(s => s.getBoundingClientRect().right <= 900)"
            )
            tab.screenshot(f"{name}-900.png")
        assert tab.errors == [], tab.errors
        assert tab.external == [], tab.external
    finally:
        tab.close()


def test_experiments_page_counts_runs_and_sweeps(tab: Tab) -> None:
    tab.open("/")
    rows = tab.page.eval_on_selector_all(
        "#experiments-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    by_name = {r[0]: r for r in rows}
    assert by_name["demo"][1] == str(1 + 30 + 1 + 20)  # two sweeps' parents and trials
    assert by_name["demo"][2] == "2"
    assert by_name["paged"][1] == str(PAGED_RUNS) and by_name["paged"][2] == "0"


def test_filter_box_finds_the_right_runs(tab: Tab, ui_store: UiStore) -> None:
    text = "params.penalty = 'l2' and attributes.status = 'FINISHED'"
    with tracking.connect(ui_store.uri, artifacts=ui_store.artifacts) as client:
        expected = set(client.search_runs("demo", filter=text, max_results=1000)["run_id"])
    assert expected
    tab.open("/experiments/demo")
    tab.page.fill("#filter", text)
    tab.page.click("#apply-filter")
    tab.page.wait_for_selector("body[data-ready] #runs-table")
    shown = set(tab.page.eval_on_selector_all("#runs-table tbody tr", "rows => rows.map(r => r.dataset.runId)"))
    assert shown == expected
    assert "filter=" in tab.page.url  # the filter survives a reload
    asked: list[str] = []
    tab.page.on("request", lambda r: asked.append(r.url))
    tab.page.reload()
    tab.page.wait_for_selector("body[data-ready] #runs-table")
    again = set(tab.page.eval_on_selector_all("#runs-table tbody tr", "rows => rows.map(r => r.dataset.runId)"))
    assert again == expected
    assert not [url for url in asked if "/runs?" in url]  # the URL's page came inside the HTML


def test_a_bad_filter_shows_its_position(tab: Tab) -> None:
    bad = "metrics.val_accuracy > 0.5 and params.penalty = "
    with pytest.raises(FilterError) as raised:
        parse_filter(bad)
    tab.open("/experiments/demo")
    tab.page.fill("#filter", bad)
    tab.page.click("#apply-filter")
    tab.page.wait_for_selector("#filter-error.shown")
    caret = tab.page.locator("#filter-error-caret")
    assert caret.get_attribute("data-position") == str(raised.value.position)
    assert caret.inner_text().index("^") == raised.value.position
    assert "expected" in tab.page.inner_text("#filter-error-message")
    tab.page.reload()  # the bad filter is in the URL: the page's own data shows the same error
    tab.page.wait_for_selector("body[data-ready] #filter-error.shown")
    assert tab.page.locator("#filter-error-caret").get_attribute("data-position") == str(raised.value.position)
    assert tab.errors == []


def test_sorting_and_paging_happen_on_the_server(tab: Tab) -> None:
    tab.open("/experiments/paged")
    tab.page.wait_for_selector("#page-info[data-total]")  # the count arrives after the page
    assert tab.page.inner_text("#page-info") == f"1\u2013100 of {PAGED_RUNS} top-level runs"
    tab.page.click("#runs-table th[data-order='attributes.name']")
    tab.page.wait_for_selector("body[data-ready] th[aria-sort='descending'][data-order='attributes.name']")
    names = tab.page.eval_on_selector_all("#runs-table tbody .run-link", "links => links.map(a => a.textContent)")
    assert names[:2] == [f"run-{PAGED_RUNS - 1:03d}", f"run-{PAGED_RUNS - 2:03d}"]
    tab.page.click("#next-page")
    tab.page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('101')")
    assert tab.page.is_disabled("#next-page") is False and tab.page.is_disabled("#prev-page") is False
    names = tab.page.eval_on_selector_all("#runs-table tbody .run-link", "links => links.map(a => a.textContent)")
    assert names[0] == f"run-{PAGED_RUNS - 101:03d}" and len(names) == 100


def test_a_parent_row_expands_to_its_children(tab: Tab) -> None:
    tab.open("/experiments/demo")
    toggle = tab.page.locator("button.expand").first
    count = int(toggle.inner_text().split()[-1])
    before = tab.page.locator("#runs-table tbody tr").count()
    toggle.click()
    tab.page.wait_for_selector("button.expand[aria-expanded='true']")
    assert tab.page.locator("#runs-table tbody tr.child").count() == count
    assert tab.page.locator("#runs-table tbody tr").count() == before + count


def test_a_running_sweep_gains_trials_without_a_reload(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/sweeps/{ui_store.live_sweep}")
    before = int(tab.page.get_attribute("body", "data-trials") or "0")
    assert tab.page.get_attribute("body", "data-live") == "1"
    add_live_trial(ui_store, before, {"alpha": 0.01}, 0.99)
    navigations: list[str] = []
    tab.page.on("framenavigated", lambda frame: navigations.append(frame.url))
    tab.page.wait_for_function(f"document.body.dataset.trials === '{before + 1}'", timeout=20_000)
    assert tab.page.locator("#trial-count").inner_text() == str(before + 1)
    assert tab.page.locator("#leaderboard-table tbody a", has_text=f"trial-{before}").count() == 1
    assert navigations == []  # it redrew in place
    assert tab.errors == []


def test_sweep_page_importances_are_bars_of_the_evaluators_numbers(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/sweeps/{ui_store.demo_sweep}")
    found = tab.page.evaluate(f"fetch('/ui/api/sweeps/{ui_store.demo_sweep}/importances').then(r => r.json())")
    pairs = next(r["pairs"] for r in found if r["pairs"])
    rows = tab.page.locator("#importances-table tr")
    assert rows.count() == len(pairs) >= 1
    widths = tab.page.evaluate(
        "[...document.querySelectorAll('#importances-table td.bar')].map(td => "
        "td.firstChild.getBoundingClientRect().width / td.getBoundingClientRect().width)"
    )
    most = max(v for _, v in pairs)
    for i, (name, value) in enumerate(pairs):
        assert rows.nth(i).locator("th").inner_text() == name
        assert widths[i] == pytest.approx(max(value, 0) / most, abs=0.02)
    # The best-so-far line: the trials where the best changed, the last trial included.
    history = tab.page.evaluate("document.querySelector('#chart-history').data.map(t => [t.name, t.x, t.type])")
    trials = next(x for name, x, _ in history if name == "trial")
    best = next((x, kind) for name, x, kind in history if name == "best so far")
    assert best[0][-1] == max(trials) and len(best[0]) <= len(trials) and best[1] == "scatter"
    assert tab.errors == []


def test_zooming_a_chart_fetches_the_range_at_full_resolution(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/runs/{ui_store.long_run}")
    chart = tab.page.locator(".metric-chart[data-key='loss']")
    chart.locator(".main-svg").first.wait_for()
    shown = int(chart.get_attribute("data-points") or "0")
    assert 0 < shown < 6_000  # downsampled on the server
    peak = tab.page.evaluate(
        "Math.max(...document.querySelector(\".metric-chart[data-key='loss']\").data[0].y.filter(v => v !== null))"
    )
    assert peak == 50.0  # the spike survives downsampling
    box = chart.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    # Drag across a narrow band around the spike: plotly zooms, the page asks for that range.
    left, right = box["x"] + box["width"] * 0.41, box["x"] + box["width"] * 0.42
    middle = box["y"] + box["height"] / 2
    with tab.page.expect_response(lambda r: "/series?" in r.url and "lo=" in r.url) as answer:
        tab.page.mouse.move(left, middle)
        tab.page.mouse.down()
        tab.page.mouse.move(right, middle, steps=5)
        tab.page.mouse.up()
    body = answer.value.json()
    assert body["lo"] is not None and body["lo"] <= SPIKE_STEP <= body["hi"]
    assert body["downsampled"] is False and body["shown"] == body["total"] == body["hi"] - body["lo"] + 1
    tab.page.wait_for_function("document.querySelector(\".metric-chart[data-key='loss']\").dataset.fetches === '2'")
    assert tab.errors == []


def test_artifacts_preview_and_download(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/runs/{ui_store.long_run}")
    tab.page.click(".artifact-link[data-path='errors.csv']")
    tab.page.wait_for_selector("#csv-preview")
    assert tab.page.eval_on_selector_all("#csv-preview td", "cells => cells.map(c => c.textContent)") == [
        "3",
        "4",
        "8",
        "2",
    ]
    tab.page.click(".artifact-link[data-path='meta.json']")
    tab.page.wait_for_selector("#text-preview")
    assert '"classes": 10' in tab.page.inner_text("#text-preview")
    tab.page.click(".artifact-link[data-path='sample.png']")
    tab.page.wait_for_function(
        "document.querySelector('img.preview') && document.querySelector('img.preview').naturalWidth === 16"
    )
    with tab.page.expect_download() as download:
        tab.page.click("#artifact-preview a.download")
    assert download.value.suggested_filename == "sample.png"
    assert tab.errors == []


def test_payloads_in_every_user_field_stay_text(tab: Tab, ui_store: UiStore) -> None:
    pages = [
        "/",
        "/experiments/xss",
        f"/sweeps/{ui_store.xss_sweep}",
        f"/runs/{ui_store.xss_run}",
        f"/compare?runs={ui_store.xss_run},{ui_store.long_run}",
        f"/models/{ui_store.model}",
        f"/models/{ui_store.model}/versions/2",
    ]
    for path in pages:
        tab.open(path)
        if path.startswith("/runs/"):
            for name in (f"{XSS}.txt", "xss.csv", "xss.json"):
                tab.page.locator(".artifact-link", has_text=name).click()
                tab.page.wait_for_function(
                    "p => document.querySelector('#artifact-preview').dataset.shown === p", arg=name
                )
        assert tab.page.evaluate("typeof window.__xss") == "undefined", path
        assert tab.page.locator("img[src='x']").count() == 0, path
        if path != "/":
            assert tab.page.get_by_text(XSS).count() >= 1, path
    assert tab.errors == [] and tab.external == []


def test_an_unknown_run_is_a_404_page(tab: Tab) -> None:
    answer = tab.open("/runs/" + "0" * 32)
    assert answer.status == 404
    assert "no run" in tab.page.inner_text("#error-message")
