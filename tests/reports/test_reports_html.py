"""The HTML report, read as text: sections, edge-case sweeps, escaping, no network, size."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from optuna.distributions import CategoricalDistribution, FloatDistribution
from synthetic import XSS, SweepSet, make_sweep

import reports
import tracking

SECTION_IDS = [s for s, _ in reports.SECTIONS]
_EXTERNAL = re.compile(r"""\b(?:src|href|action)\s*=\s*(?!["']?(?:data:|#))""", re.IGNORECASE)


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def _build(client: tracking.TrackingClient, sweep_id: str, tmp_path: Path, **options: object) -> str:
    path = reports.build_report(client, sweep_id, tmp_path / "out" / f"{sweep_id}.html", **options)
    return path.read_text(encoding="utf-8")


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def _assert_self_contained(html: str) -> None:
    assert not _EXTERNAL.search(html), _EXTERNAL.search(html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "could not draw" not in html


def test_every_section_is_present(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.mixed.sweep_id, tmp_path)
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}"' in html
    _assert_self_contained(html)
    for section_id in ("history", "curves", "parallel", "importance", "slices"):
        assert "data:image/" in _section(html, section_id), section_id
    assert "single-objective sweep" in _section(html, "pareto")
    assert "no registry entry" in _section(html, "registry")
    assert "pruned after step" in _section(html, "failures")
    assert "FloatingPointError" in _section(html, "failures")
    runner_up = _section(html, "runner-up")
    assert "cannot tell</strong>: telling a gap from noise needs at least two seeds" in runner_up
    assert runner_up.count("cannot tell") == 1  # it read "cannot tell: single seed, cannot tell"
    # Only objectives have a goal; any other metric shows its final value and no claimed direction.
    assert '<th scope="row">train_loss</th><td>—</td>' in runner_up
    # One image per parameter, which the page flows into columns (alpha, epochs, penalty).
    assert _section(html, "slices").count("<img ") == 3


def test_password_never_reaches_the_report(
    report_client: tracking.TrackingClient,
    sweeps: SweepSet,
    tmp_path: Path,
) -> None:
    html = _build(report_client, sweeps.mixed.sweep_id, tmp_path)
    assert "s3cret" not in html
    assert "alice:***@db.example" in _section(html, "provenance")
    assert "0123456789abcdef" in _section(html, "provenance")  # code version
    assert "optuna" in _section(html, "provenance")  # package versions


def test_user_strings_are_escaped(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.xss.sweep_id, tmp_path)
    assert XSS not in html
    tags = _Tags()
    tags.feed(html)
    assert not [a for _, attrs in tags.seen for a, _ in attrs if a.startswith("on")], "an event handler got in"
    assert all(dict(attrs)["src"].startswith("data:image/") for tag, attrs in tags.seen if tag == "img")
    # The payload shows as text wherever it was stored: run name, tags, error, config, packages.
    assert html.count(str(escape(XSS))) >= 5
    meta = re.search(r'<script type="application/json" id="report-meta">(.*?)</script>', html, re.S)
    assert meta is not None and "<" not in meta.group(1)


def test_one_trial(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.one.sweep_id, tmp_path)
    assert "needs two finished trials" in _section(html, "runner-up")
    assert "needs at least 2 finished trials" in _section(html, "importance")
    assert "data:image/" in _section(html, "history")
    _assert_self_contained(html)


def test_every_trial_failed(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.failed.sweep_id, tmp_path)
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}"' in html
    assert "no trial finished" in _section(html, "history")
    assert "none: no trial finished" in _section(html, "summary")
    assert _section(html, "failures").count("FloatingPointError") >= 5
    # Five "trial N diverged" are one kind of error, counted once with N masked.
    counted = '<td class="mono">FloatingPointError: trial # diverged</td><td class="num">5</td>'
    assert counted in _section(html, "failures")
    _assert_self_contained(html)


def test_categorical_only_space(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.categorical.sweep_id, tmp_path)
    for section_id in ("parallel", "importance", "slices"):
        assert "data:image/" in _section(html, section_id), section_id
    assert "modified_huber" in _section(html, "leaderboard")
    _assert_self_contained(html)


def test_multi_objective(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    html = _build(report_client, sweeps.multi.sweep_id, tmp_path)
    pareto = _section(html, "pareto")
    assert "data:image/" in pareto and "hypervolume" in pareto
    assert "hypervolume" in _section(html, "summary")
    assert ">front<" in _section(html, "leaderboard")
    assert _section(html, "importance").count("<caption>") == 2  # one per objective
    assert "the two best trials by val_accuracy (maximize), the first objective" in _section(html, "runner-up")


def test_repeated_seeds_get_a_verdict(report_client: tracking.TrackingClient, sweeps: SweepSet, tmp_path: Path) -> None:
    section = _section(_build(report_client, sweeps.seeds.sweep_id, tmp_path), "runner-up")
    assert "Repeated seeds" in section and "95% interval" in section
    assert "Welch" in section or "no spread" in section


def test_space_is_inferred_without_distributions(
    report_client: tracking.TrackingClient,
    sweeps: SweepSet,
    tmp_path: Path,
) -> None:
    html = _build(report_client, sweeps.bare.sweep_id, tmp_path)
    for section_id in ("parallel", "importance", "slices"):
        assert "data:image/" in _section(html, section_id), section_id


def test_running_sweep(fresh_client: tracking.TrackingClient, tmp_path: Path) -> None:
    made = make_sweep(fresh_client, sweep_id="live-1", n_trials=4, realistic_times=False, finish=False)
    with fresh_client.start_run(
        "demo",
        "trial-4",
        parent=made.parent_run_id,
        tags={"sweeps.kind": "trial", "sweeps.sweep_id": "live-1", "sweeps.trial_number": "4"},
    ) as run:
        run.log_metric("val_accuracy", 0.5, step=0)
        html = _build(fresh_client, "live-1", tmp_path)
    assert "running for" in _section(html, "summary") and "1 running" in _section(html, "summary")


def test_champion_and_challenger(fresh_client: tracking.TrackingClient, tmp_path: Path) -> None:
    sklearn = pytest.importorskip("sklearn.dummy")
    made = make_sweep(fresh_client, sweep_id="reg-1", n_trials=3, pruned=0.0, failed=0.0)
    registry = fresh_client.registry
    versions = []
    for run_id in made.trial_run_ids[:2]:
        fresh_client.log_model(run_id, sklearn.DummyClassifier().fit([[0], [1]], [0, 1]))
        versions.append(registry.register_model("digits", run_id))
    registry.set_alias("digits", "champion", versions[0].version)
    registry.set_alias("digits", "challenger", versions[1].version)
    fresh_client.set_tags(made.parent_run_id, {"sweeps.registered": versions[1].uri})
    section = _section(_build(fresh_client, "reg-1", tmp_path), "registry")
    assert ">champion<" in section and ">challenger<" in section and "models:/digits/2" in section


@pytest.mark.slow
def test_two_thousand_trials(fresh_client: tracking.TrackingClient, tmp_path: Path) -> None:
    make_sweep(fresh_client, sweep_id="big-1", n_trials=2_000, steps=20, pruned=0.3, failed=0.05)
    started = time.perf_counter()
    html = _build(fresh_client, "big-1", tmp_path)
    elapsed = time.perf_counter() - started
    size = len(html.encode("utf-8"))
    assert size < 10_000_000, f"report is {size / 1e6:.1f} MB"
    assert elapsed < 30, f"report took {elapsed:.1f} s"
    assert "showing 100 of" in _section(html, "curves")
    assert "showing 300 of" in _section(html, "failures")
    _assert_self_contained(html)


def test_dollar_signs_are_not_read_as_math(fresh_client: tracking.TrackingClient, tmp_path: Path) -> None:
    # "$\\nope$" is invalid mathtext: drawn as math it would fail the figure.
    space = {"cost$\\nope$": FloatDistribution(1.0, 10.0), "mode": CategoricalDistribution(["$\\a$", "b$"])}
    make_sweep(fresh_client, sweep_id="dollar-1", n_trials=8, space=space, trial_name=lambda n: f"run $\\x{n}$")
    html = _build(fresh_client, "dollar-1", tmp_path)
    _assert_self_contained(html)  # also: no "could not draw"
    assert "cost$\\nope$" in _section(html, "leaderboard")
