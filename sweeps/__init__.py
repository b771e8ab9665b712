"""Sweeps: hyperparameter sweeps as Optuna trials on Ray workers, tracked as child runs of a parent run.

The flow: config (`sweeps.config`) -> sweep driver (`sweeps.engine`) -> trials (`sweeps.Trial`)
-> metric sink and store (`tracking`) -> ranking, report, registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sweeps.errors import ConfigError, SweepsError
from tracking.lazy import lazy_exports

if TYPE_CHECKING:
    from sweeps.config import load_config
    from sweeps.engine import SweepProgress, SweepResult, resume, run
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

# Imported on first use: a Ray worker imports `sweeps.trial` and must not pay for the config
# loader (YAML), the driver and the tracking client (SQLAlchemy) that `run` needs.
_LAZY = {
    "SweepProgress": "sweeps.engine.result",
    "SweepResult": "sweeps.engine.result",
    "Trial": "sweeps.trial",
    "TrialPruned": "sweeps.trial",
    "load_config": "sweeps.config",
    "resume": "sweeps.engine.driver",
    "run": "sweeps.engine.driver",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
