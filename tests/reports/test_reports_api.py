"""The public API of ``reports`` is exactly what its ``__init__`` exports; it never imports ``sweeps``."""

from __future__ import annotations

import subprocess
import sys

import reports

EXPORTED = {
    "SECTIONS",
    "Comparison",
    "ImportanceResult",
    "MetricRow",
    "NoiseVerdict",
    "Objective",
    "ParamRow",
    "RankedTrial",
    "ReportError",
    "RunColumn",
    "RunsNotFound",
    "SeedGroup",
    "Sweep",
    "SweepNotFound",
    "TrialRecord",
    "build_report",
    "build_study",
    "compare",
    "comparison_of",
    "crowding_distance",
    "find_sweep",
    "group_by_seed",
    "hypervolume",
    "infer_distribution",
    "leaderboard",
    "leaderboard_frame",
    "list_sweep_ids",
    "load_sweep",
    "noise_verdict",
    "non_dominated_sort",
    "param_importances",
    "pareto_front_mask",
    "rank_groups",
    "rank_trials",
    "reference_point",
    "render_report",
    "render_text",
    "search_space",
    "trial_records",
    "write_comparison_html",
}


def test_exported_names() -> None:
    assert set(reports.__all__) == EXPORTED
    assert all(hasattr(reports, name) for name in EXPORTED)


def test_reports_never_imports_sweeps() -> None:
    code = "import sys, reports, reports.html; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sweeps'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
