"""The sweep engine: driver loop, coordinator, backends (local, Ray), resume, results.

Importing it does not import Ray; only `sweeps.engine.ray_backend` does, when a sweep uses it.
"""

from __future__ import annotations

from sweeps.engine.driver import ProgressCallback, resume, run
from sweeps.engine.ranking import find_sweep, leaderboard
from sweeps.engine.result import RunningTrial, SweepProgress, SweepResult

__all__ = [
    "ProgressCallback",
    "RunningTrial",
    "SweepProgress",
    "SweepResult",
    "find_sweep",
    "leaderboard",
    "resume",
    "run",
]
