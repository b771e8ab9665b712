"""Reports: rank a sweep's trials, compare runs, and write the self-contained HTML report."""

from __future__ import annotations

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
