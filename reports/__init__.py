"""Reports: rank a sweep's trials, compare runs, and write the self-contained HTML report.

Names are imported on first use: `sweeps show` ranks through this package and must not pay for
matplotlib, scikit-learn (parameter importances) and the HTML templates it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Here, not lazily: the function has its module's name, and importing `reports.compare` (as
# `reports.sections` does) would otherwise bind the module over it.
from reports.compare import compare
from tracking.lazy import lazy_exports

if TYPE_CHECKING:
    from reports.compare import Comparison, MetricRow, ParamRow, RunColumn, compare, comparison_of, render_text
    from reports.errors import ReportError, RunsNotFound, SweepNotFound
    from reports.html import SECTIONS, build_report, render_report, write_comparison_html
    from reports.importance import ImportanceResult, build_study, param_importances
    from reports.pareto import crowding_distance, hypervolume, non_dominated_sort, pareto_front_mask, reference_point
    from reports.ranking import RankedTrial, TrialRecord, leaderboard, leaderboard_frame, rank_trials, trial_records
    from reports.seeds import NoiseVerdict, SeedGroup, group_by_seed, noise_verdict, rank_groups
    from reports.space import infer_distribution, search_space
    from reports.sweep import Objective, Sweep, find_sweep, list_sweep_ids, load_sweep

__all__ = [
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
]

_LAZY = {
    "Comparison": "reports.compare",
    "MetricRow": "reports.compare",
    "ParamRow": "reports.compare",
    "RunColumn": "reports.compare",
    "comparison_of": "reports.compare",
    "render_text": "reports.compare",
    "ReportError": "reports.errors",
    "RunsNotFound": "reports.errors",
    "SweepNotFound": "reports.errors",
    "SECTIONS": "reports.html",
    "build_report": "reports.html",
    "render_report": "reports.html",
    "write_comparison_html": "reports.html",
    "ImportanceResult": "reports.importance",
    "build_study": "reports.importance",
    "param_importances": "reports.importance",
    "crowding_distance": "reports.pareto",
    "hypervolume": "reports.pareto",
    "non_dominated_sort": "reports.pareto",
    "pareto_front_mask": "reports.pareto",
    "reference_point": "reports.pareto",
    "RankedTrial": "reports.ranking",
    "TrialRecord": "reports.ranking",
    "leaderboard": "reports.ranking",
    "leaderboard_frame": "reports.ranking",
    "rank_trials": "reports.ranking",
    "trial_records": "reports.ranking",
    "NoiseVerdict": "reports.seeds",
    "SeedGroup": "reports.seeds",
    "group_by_seed": "reports.seeds",
    "noise_verdict": "reports.seeds",
    "rank_groups": "reports.seeds",
    "infer_distribution": "reports.space",
    "search_space": "reports.space",
    "Objective": "reports.sweep",
    "Sweep": "reports.sweep",
    "find_sweep": "reports.sweep",
    "list_sweep_ids": "reports.sweep",
    "load_sweep": "reports.sweep",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
