"""Run comparison: params side by side, final/best metrics, curves aligned by step."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import SweepSet

import reports
import tracking


def _plain_runs(client: tracking.TrackingClient) -> tuple[str, str]:
    with client.start_run("plain", "baseline", params={"lr": 0.1, "layers": 2, "opt": "sgd"}) as a:
        for step, loss in enumerate([1.0, 0.5, 0.7]):
            a.log_metrics({"loss": loss, "acc": 0.5 + step / 10}, step=step)
    with client.start_run("plain", "wider", params={"lr": 0.1, "layers": 4}) as b:
        for step, loss in zip([0, 2, 4, 6], [0.9, 0.4, 0.3, 0.35], strict=True):
            b.log_metrics({"loss": loss}, step=step)
        b.log_metric("test_error", 0.12)
    return a.run_id, b.run_id


def test_compare_plain_runs(fresh_client: tracking.TrackingClient) -> None:
    first, second = _plain_runs(fresh_client)
    comparison = reports.compare(fresh_client, [first, second])
    assert [p.key for p in comparison.params] == ["layers", "opt", "lr"]  # differing first, then the same
    assert [p.differs for p in comparison.params] == [True, True, False]
    assert comparison.params[1].values == ("sgd", None)
    loss = next(m for m in comparison.metrics if m.key == "loss")
    assert loss.goal == "minimize"
    assert loss.final == (0.7, 0.35) and loss.best == (0.5, 0.3) and loss.best_step == (1, 4)
    acc = next(m for m in comparison.metrics if m.key == "acc")
    assert acc.goal == "maximize" and acc.final[1] is None
    curve = comparison.curves["loss"]
    assert curve["step"].to_list() == [0, 1, 2, 4, 6]
    assert curve[first].to_list() == [1.0, 0.5, 0.7, None, None]
    assert curve[second].to_list() == [0.9, None, 0.4, 0.3, 0.35]
    assert "test_error" not in comparison.curves  # one point is not a curve
    assert comparison.params_frame().height == 3 and comparison.metrics_frame().height == 6


def test_compare_across_sweeps_uses_their_goals(report_client: tracking.TrackingClient, sweeps: SweepSet) -> None:
    ids = [sweeps.mixed.trial_run_ids[0], sweeps.multi.trial_run_ids[0], sweeps.multi.trial_run_ids[1]]
    comparison = reports.compare(report_client, ids)
    assert [r.sweep_id for r in comparison.runs] == ["mixed-00000001", "multi-00000003", "multi-00000003"]
    assert [r.trial for r in comparison.runs] == [0, 0, 1]
    goals = {m.key: m.goal for m in comparison.metrics}
    assert goals["objective.fit_seconds"] == "minimize" and goals["val_accuracy"] == "maximize"
    assert comparison.metrics[0].key.startswith("objective.")
    text = reports.render_text(comparison)
    assert "Params" in text and "objective.val_accuracy" in text and "* alpha" in text


def test_unknown_runs_are_named(fresh_client: tracking.TrackingClient) -> None:
    first, _ = _plain_runs(fresh_client)
    with pytest.raises(reports.RunsNotFound, match="'nope'"):
        reports.compare(fresh_client, [first, "nope"])


def test_text_never_passes_control_characters(fresh_client: tracking.TrackingClient) -> None:
    with fresh_client.start_run("plain", "evil\x1b[31mred", params={"x": 1}) as run:
        run.log_metric("m", 1.0)
    text = reports.render_text(reports.compare(fresh_client, [run.run_id]))
    assert "\x1b" not in text and "evil?[31mred" in text


def test_comparison_html(fresh_client: tracking.TrackingClient, tmp_path: Path) -> None:
    first, second = _plain_runs(fresh_client)
    path = reports.write_comparison_html(reports.compare(fresh_client, [first, second]), tmp_path / "c.html")
    html = path.read_text()
    assert 'id="side-by-side"' in html and html.count("data:image/svg+xml;base64,") == 2  # loss and acc
    assert "http://" not in html and "https://" not in html
