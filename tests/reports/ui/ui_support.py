"""What the live UI's browser tests share: the store they fill, and a browser tab that records what a page did."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from synthetic import XSS

import tracking
from tracking.entities import MetricPoint

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "ui"
SPIKE_STEP = 2_500
LONG_STEPS = 6_000
PAGED_RUNS = 230


@dataclass(frozen=True)
class UiStore:
    uri: str
    artifacts: str
    demo_sweep: str
    multi_sweep: str
    xss_sweep: str
    live_sweep: str
    live_parent: str
    long_run: str
    xss_run: str
    model: str


def long_run(client: tracking.TrackingClient) -> str:
    with client.start_run(experiment="plain", name="long-series", tags={"team": "vision"}) as run:
        steps = np.arange(LONG_STEPS)
        values = 1.0 / (steps + 1.0)
        values[SPIKE_STEP] = 50.0  # one spike: the downsampled chart must still show it
        points = [
            MetricPoint(run.run_id, "loss", int(s), float(v), 1_767_225_600_000 + int(s))
            for s, v in zip(steps, values, strict=True)
        ]
        client.log_batch(run.run_id, metrics=points)
        run.log_params({"lr": 0.01})
        run.log_dict({"classes": 10, "note": "hello"}, "meta.json")
        run.log_text("digit,errors\n3,4\n8,2\n", "errors.csv")
        run.log_text("plain text notes", "notes/readme.txt")
        run.log_image(np.zeros((16, 16, 3), np.uint8), "sample.png")
    return run.run_id


def xss_run(client: tracking.TrackingClient) -> str:
    with client.start_run(experiment="xss", name=XSS, tags={XSS: XSS, "team": XSS}) as run:
        run.log_params({XSS: XSS, "alpha": XSS})
        run.log_metrics({XSS: 1.0, "ok": 2.0}, step=0)
        run.log_metrics({XSS: 2.0, "ok": 3.0}, step=1)
        run.log_text(XSS, f"{XSS}.txt")
        run.log_text(f"a,b\n{XSS},1\n", "xss.csv")
        run.log_dict({XSS: XSS}, "xss.json")
        run.end("FAILED", f"Traceback: ValueError: {XSS}")
    return run.run_id


def model(client: tracking.TrackingClient, run_ids: list[str]) -> str:
    registry = client.registry
    name = "digits-clf"
    store = registry._store  # versions of runs that logged no model folder: registry rows only
    registry.create_registered_model(name, description=XSS)
    for number, run_id in enumerate(run_ids, start=1):
        store.register_version(
            name,
            run_id=run_id,
            source=f"runs:/{run_id}/model",
            description=XSS,
            tags={"v": str(number)},
            actor="test",
            reason=None,
            alias=None,
        )
    registry.set_alias(name, "challenger", 2, reason=XSS)
    registry.set_alias(name, "champion", 1)
    return name


def add_live_trial(store: UiStore, number: int, params: dict[str, object], value: float) -> None:
    """A finished trial of the live sweep, written as a running sweep writes it."""
    with tracking.connect(store.uri, artifacts=store.artifacts) as client:
        tags = {"sweeps.kind": "trial", "sweeps.sweep_id": store.live_sweep, "sweeps.trial_number": str(number)}
        with client.start_run("live", f"trial-{number}", tags=tags, params=params, parent=store.live_parent) as run:
            run.log_metrics({"objective.val_accuracy": value, "val_accuracy": value}, step=0)
        client.flush()


class Tab:
    """A page of the UI in its own browser context, recording console errors and requests elsewhere."""

    def __init__(self, browser, base: str, width: int = 1400) -> None:  # type: ignore[no-untyped-def]
        self.base = base
        self.errors: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": 1000})
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.route("**/*", self._route)

    def _route(self, route, request) -> None:  # type: ignore[no-untyped-def]
        if request.url.startswith((self.base + "/", "data:", "blob:")) or request.url == self.base:
            route.continue_()
        else:
            self.external.append(request.url)
            route.abort()

    def open(self, path: str):  # type: ignore[no-untyped-def]
        answer = self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready]")
        return answer

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / name
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def close(self) -> None:
        self.context.close()
