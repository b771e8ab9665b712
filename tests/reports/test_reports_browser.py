"""The report in headless Chromium: it loads cleanly, offline, sorts, and never runs a payload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from synthetic import XSS, SweepSet

import reports
from tests.support.browser import Visit, launch_chromium

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with launch_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def report_path(sweeps: SweepSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tracking

    with tracking.connect(sweeps.uri, artifacts=sweeps.artifacts) as client:
        return reports.build_report(client, sweeps.xss.sweep_id, tmp_path_factory.mktemp("browser") / "report.html")


@pytest.fixture
def visit(browser, report_path: Path) -> Iterator[Visit]:  # type: ignore[no-untyped-def]
    opened = Visit(browser, report_path)
    try:
        yield opened
    finally:
        opened.context.close()


def test_loads_offline_without_errors(visit: Visit) -> None:
    assert visit.errors == []
    assert visit.external == []
    for section_id, title in reports.SECTIONS:
        section = visit.page.locator(f"section#{section_id}")
        assert section.count() == 1 and title in section.locator("h2").inner_text()


def test_every_image_is_decoded(visit: Visit) -> None:
    sizes = visit.page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) >= 5
    assert all(complete and width > 0 for complete, width in sizes), sizes


def test_column_header_sorts_the_leaderboard(visit: Visit) -> None:
    header = visit.page.locator("#leaderboard-table thead th", has_text="trial")
    header.click()
    ascending = [int(v) for v in visit.column(1)]
    assert ascending == sorted(ascending) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert [int(v) for v in visit.column(1)] == sorted(ascending, reverse=True)
    visit.page.locator("#leaderboard-table thead th", has_text="rank").click()
    ranks = visit.column(0)
    filled = [int(v) for v in ranks if v is not None]
    assert filled == sorted(filled) and ranks[: len(filled)] == [str(v) for v in filled]  # unranked stay last
    assert visit.errors == []


def test_payload_shows_as_text_and_never_runs(visit: Visit) -> None:
    assert visit.page.evaluate("typeof window.__xss") == "undefined"
    assert visit.page.get_by_text(XSS, exact=True).count() >= 1
    visit.page.locator("details.error summary").first.click()  # opening an error must not run it either
    visit.page.locator("button[data-toggle-all='close']").click()
    visit.page.locator("button[data-toggle-all='open']").click()
    assert visit.page.evaluate("typeof window.__xss") == "undefined"
    assert visit.errors == [] and visit.external == []


def test_screenshot(visit: Visit) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    visit.page.locator("section#leaderboard").screenshot(path=str(ARTIFACTS / "report-leaderboard.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


@pytest.mark.parametrize("width", [1400, 900])
def test_layout_fits_the_window(browser, report_path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 1000})
    try:
        page = context.new_page()
        page.goto(report_path.as_uri())
        page.wait_for_selector("body[data-ready]")
        # No horizontal scrollbar: not on the page, and in no box but the leaderboard (a wide table by nature).
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, f"the page scrolls sideways at {width} px: {scroll} > {client}"
        scrolling = page.evaluate(
            """Array.from(document.querySelectorAll('body *'))
                .filter(e => getComputedStyle(e).overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1)
                .filter(e => !e.closest('#leaderboard'))
                .map(e => [(e.closest('section') || {}).id, e.tagName, e.scrollWidth, e.clientWidth])"""
        )
        assert scrolling == [], scrolling
        # Every figure at (nearly) its drawn size: a figure squeezed to fit has text too small to read.
        images = page.eval_on_selector_all(
            "figure img",
            "imgs => imgs.map(i => [i.closest('section').id, i.naturalWidth, i.clientWidth, i.offsetTop])",
        )
        assert len(images) >= 5
        small = [(section, shown, natural) for section, natural, shown, _ in images if shown < 0.95 * natural]
        assert small == [], small
        # The slice panels flow into columns: all three in a row at 1400 px, two at 900 px.
        tops = [round(top) for section, _, _, top in images if section == "slices"]
        assert len(tops) == 3 and max(tops.count(t) for t in tops) == (3 if width == 1400 else 2), tops
        _screenshots(page, width)
    finally:
        context.close()


def _screenshots(page, width: int) -> None:  # type: ignore[no-untyped-def]
    folder = ARTIFACTS / "report"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"report-{width}.png"), full_page=True)
    # A sticky header would cover the top of each section in its own screenshot.
    page.add_style_tag(content=".page-head { position: static; }")
    for section in ("history", "curves", "parallel", "slices", "runner-up", "failures"):
        page.locator(f"section#{section}").screenshot(path=str(folder / f"{section}-{width}.png"))
