"""Headless Chromium for report tests: launch Debian's browser, open a page, record what it did."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str) -> None:
    # Locally a missing browser skips; in CI the browser checks are part of "done".
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def launch_chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """A page opened on a report, recording console errors and every request it tried."""

    def __init__(self, browser, path: Path) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]")

    def _route(self, route, request) -> None:  # type: ignore[no-untyped-def]
        if request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.external.append(request.url)
            route.abort()

    def column(self, index: int) -> list[str]:
        return self.page.eval_on_selector_all(
            "#leaderboard-table tbody tr", f"rows => rows.map(r => r.cells[{index}].getAttribute('data-sort'))"
        )

    def close(self) -> None:
        self.context.close()
