"""Each example config's real sweep ends with a report that passes the browser checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import reports
import sweeps
from tests.support.browser import Visit, launch_chromium

pytestmark = pytest.mark.browser

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with launch_chromium() as launched:
        yield launched


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_example_sweep_report_in_chromium(
    browser: object, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(tmp_path / "artifacts"))
    output = tmp_path / f"{config.stem}.html"
    result = sweeps.run(
        config,
        store=f"sqlite:///{tmp_path / 'store.db'}",
        overrides={"budget.trials": 3, "execution.backend": "local", "report.output": str(output)},
        no_register=True,
    )
    assert result.n_trials == 3 and result.report_path is not None
    assert Path(result.report_path).resolve() == output.resolve()
    visit = Visit(browser, output)
    try:
        assert visit.errors == [] and visit.external == []
        for section_id, _title in reports.SECTIONS:
            assert visit.page.locator(f"section#{section_id}").count() == 1, section_id
        sizes = visit.page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
        assert sizes and all(complete and width > 0 for complete, width in sizes), sizes
        assert visit.page.get_by_text(result.sweep_id).count() >= 1
    finally:
        visit.close()
