"""The sweep engine: driver loop, coordinator, backends (local, Ray), resume, results.

Importing it imports none of them; only `sweeps.engine.ray_backend` imports Ray, when a sweep uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracking.lazy import lazy_exports

if TYPE_CHECKING:
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

# Imported on first use: a Ray worker imports submodules of this package (executor, messages)
# and must not pay for the driver, the tracking client and SQLAlchemy behind them.
_LAZY = {
    "ProgressCallback": "sweeps.engine.driver",
    "RunningTrial": "sweeps.engine.result",
    "SweepProgress": "sweeps.engine.result",
    "SweepResult": "sweeps.engine.result",
    "find_sweep": "sweeps.engine.ranking",
    "leaderboard": "sweeps.engine.ranking",
    "resume": "sweeps.engine.driver",
    "run": "sweeps.engine.driver",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
