"""``sweeps report`` and ``sweeps compare`` from the command line: outputs and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import SweepSet

from sweeps.cli import main


def test_report_writes_the_file(sweeps: SweepSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "r.html"
    assert main(["report", sweeps.mixed.sweep_id, "-o", str(out), "--store", sweeps.uri, "--top", "3"]) == 0
    assert out.exists() and 'id="leaderboard"' in out.read_text()
    assert f"wrote {out}" in capsys.readouterr().out


def test_report_default_path_and_env_store(
    sweeps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWEEPS_STORE", sweeps.uri)
    assert main(["report", sweeps.one.sweep_id]) == 0
    assert (tmp_path / "sweep-reports" / f"{sweeps.one.sweep_id}.html").exists()


def test_unknown_sweep_exits_1(sweeps: SweepSet, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "no-such-sweep", "--store", sweeps.uri]) == 1
    assert "no sweep with id 'no-such-sweep'" in capsys.readouterr().err


def test_missing_store_exits_1_and_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "absent.db"
    assert main(["report", "x", "--store", f"sqlite:///{store}"]) == 1
    assert "no store at" in capsys.readouterr().err and not store.exists()


def test_compare(sweeps: SweepSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = [sweeps.mixed.trial_run_ids[0], sweeps.categorical.trial_run_ids[0]]
    html = tmp_path / "cmp.html"
    assert main(["compare", *ids, "--html", str(html), "--store", sweeps.uri]) == 0
    out = capsys.readouterr().out
    assert "Params" in out and "Metrics" in out and ids[0] in out and html.exists()


def test_compare_usage_and_unknown_runs(sweeps: SweepSet, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", sweeps.mixed.trial_run_ids[0], "--store", sweeps.uri]) == 2
    assert main(["compare", sweeps.mixed.trial_run_ids[0], "nope", "--store", sweeps.uri]) == 1
    assert "no run with id 'nope'" in capsys.readouterr().err
