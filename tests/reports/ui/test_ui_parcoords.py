"""The sweep page's canvas parallel coordinates in headless Chromium: dragging along an axis brushes
(AND across axes), a click outside a brush clears it, and a live redraw keeps the brushes."""

from __future__ import annotations

import pytest
from ui_support import Tab, UiStore, add_live_trial

pytestmark = pytest.mark.browser

CHART = "#chart-parallel"


def _data(tab: Tab, sweep: str) -> dict:  # type: ignore[type-arg]
    """The parallel-coordinates figure the page was given (the shared figure layer's)."""
    script = "url => fetch(url).then(r => r.json()).then(d => d.parallel)"
    return tab.page.evaluate(script, f"/ui/api/sweeps/{sweep}")  # type: ignore[no-any-return]


def _point(tab: Tab, axis: int, value: float) -> tuple[float, float]:
    """Page coordinates of ``value`` (in the axis' [0, 1] units) on axis number ``axis``."""
    geometry = tab.page.evaluate(
        """sel => { const h = document.querySelector(sel), b = h.querySelector("canvas").getBoundingClientRect();
          return { left: b.left, top: b.top, xs: h.dataset.axisX.split(",").map(Number),
                   plotTop: Number(h.dataset.plotTop), plotBottom: Number(h.dataset.plotBottom) }; }""",
        CHART,
    )
    y = geometry["plotTop"] + (1 - value) * (geometry["plotBottom"] - geometry["plotTop"])
    return geometry["left"] + geometry["xs"][axis], geometry["top"] + y


def _brush(tab: Tab, axis: int, start: float, end: float) -> None:
    tab.page.locator(CHART).scroll_into_view_if_needed()
    x, y0 = _point(tab, axis, start)
    _, y1 = _point(tab, axis, end)
    tab.page.mouse.move(x, y0)
    tab.page.mouse.down()
    tab.page.mouse.move(x, y1, steps=6)
    tab.page.mouse.up()


def _click(tab: Tab, axis: int, value: float) -> None:
    tab.page.mouse.click(*_point(tab, axis, value))


def _selected(tab: Tab) -> int:
    return int(tab.page.get_attribute(CHART, "data-selected") or "-1")


def _inside(column: list[float | None], low: float, high: float) -> set[int]:
    return {i for i, v in enumerate(column) if v is not None and low <= v <= high}


def _gap(column: list[float | None]) -> float:
    """A value in the widest gap between the middle lines of ``column``: a brush edge there is
    a pixel or two away from every line, so which lines it holds does not hang on rounding."""
    values = sorted(v for v in column if v is not None)
    middle = values[len(values) // 4 : 3 * len(values) // 4 + 1]
    widest = max(range(len(middle) - 1), key=lambda i: middle[i + 1] - middle[i])
    assert middle[widest + 1] - middle[widest] > 0.02, "the demo sweep's objective has no gap to brush at"
    return (middle[widest] + middle[widest + 1]) / 2


def _axis(p: dict, name: str) -> int:  # type: ignore[type-arg]
    return [a["name"] for a in p["axes"]].index(name)


def test_dragging_along_axes_brushes_and_a_click_clears(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/sweeps/{ui_store.demo_sweep}")
    p = _data(tab, ui_store.demo_sweep)
    lines = len(p["colour"])
    assert tab.page.get_attribute(CHART, "data-drawn") == str(lines) and lines > 10
    assert tab.page.locator("#parallel-count").inner_text() == f"{lines} trials"
    # penalty is categorical: l2, l1, elasticnet at 0, 0.5, 1; a brush from 0.3 to 0.8 holds l1 alone.
    penalty, objective = _axis(p, "penalty"), len(p["axes"]) - 1
    l1 = _inside(p["columns"][penalty], 0.3, 0.8)
    assert 0 < len(l1) < lines
    _brush(tab, penalty, 0.8, 0.3)
    assert _selected(tab) == len(l1)
    assert tab.page.locator("#parallel-count").inner_text() == f"{len(l1)} of {lines} trials selected"
    # A second brush, on the objective's top part: only lines inside both are selected.
    edge = _gap(p["columns"][objective])
    _brush(tab, objective, 1.0, edge)
    both = l1 & _inside(p["columns"][objective], edge, 1.0)
    assert _selected(tab) == len(both)
    assert tab.page.get_attribute(CHART, "data-brushes") == "2"
    tab.screenshot("sweep-brushed-1400.png")
    # A click on the penalty axis outside its brush clears that brush and keeps the other.
    _click(tab, penalty, 0.05)
    assert tab.page.get_attribute(CHART, "data-brushes") == "1"
    assert _selected(tab) == len(_inside(p["columns"][objective], edge, 1.0))
    # A click inside a brush keeps it; outside, it goes, and every line is selected again.
    _click(tab, objective, (edge + 1.0) / 2)
    assert tab.page.get_attribute(CHART, "data-brushes") == "1"
    _click(tab, objective, edge / 2)
    assert tab.page.get_attribute(CHART, "data-brushes") == "0"
    assert _selected(tab) == lines
    assert tab.page.locator("#parallel-count").inner_text() == f"{lines} trials"
    assert tab.page.locator("#parallel-clear").is_hidden()
    # The "clear brushes" button drops every brush at once.
    _brush(tab, penalty, 0.8, 0.3)
    _brush(tab, objective, 1.0, edge)
    tab.page.locator("#parallel-clear").click()
    assert tab.page.get_attribute(CHART, "data-brushes") == "0" and _selected(tab) == lines
    assert tab.errors == [] and tab.external == []


def test_a_live_redraw_keeps_the_brush(tab: Tab, ui_store: UiStore) -> None:
    tab.open(f"/sweeps/{ui_store.live_sweep}")
    p = _data(tab, ui_store.live_sweep)
    penalty = _axis(p, "penalty")
    _brush(tab, penalty, 0.8, 0.3)
    assert _selected(tab) == len(_inside(p["columns"][penalty], 0.3, 0.8))
    before = int(tab.page.get_attribute("body", "data-trials") or "0")
    add_live_trial(ui_store, before, {"alpha": 0.001, "penalty": "l1", "epochs": 20}, 0.95)
    tab.page.wait_for_function(f"document.body.dataset.trials === '{before + 1}'", timeout=20_000)
    after = _data(tab, ui_store.live_sweep)
    assert len(after["colour"]) == len(p["colour"]) + 1  # the new trial is a line of the chart
    assert tab.page.get_attribute(CHART, "data-lines") == str(len(after["colour"]))
    assert tab.page.get_attribute(CHART, "data-brushes") == "1"
    kept = _inside(after["columns"][penalty], 0.3, 0.8)
    assert _selected(tab) == len(kept) == len(_inside(p["columns"][penalty], 0.3, 0.8)) + 1
    assert tab.errors == []
