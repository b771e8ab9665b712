"""Sweeps: hyperparameter sweeps as Optuna trials on Ray workers, tracked as child runs of a parent run.

The flow: config (`sweeps.config`) -> sweep driver (`sweeps.engine`) -> trials (`sweeps.Trial`)
-> metric sink and store (`tracking`) -> ranking, report, registry.
"""

from __future__ import annotations

from sweeps.config import load_config
from sweeps.engine import SweepProgress, SweepResult, resume, run
from sweeps.errors import ConfigError, SweepsError
from sweeps.trial import Trial, TrialPruned

__all__ = [
    "ConfigError",
    "SweepProgress",
    "SweepResult",
    "SweepsError",
    "Trial",
    "TrialPruned",
    "load_config",
    "resume",
    "run",
]
