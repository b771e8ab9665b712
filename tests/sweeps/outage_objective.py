"""The objective of the database-outage sweep tests: a steady stream of logged and reported steps."""

from __future__ import annotations

import time
from pathlib import Path

from sweeps import Trial

STEPS = 20
REF = f"{Path(__file__).resolve()}:steady"


def steady(trial: Trial) -> float:
    """Logs and reports ``STEPS`` steps over about half a second; each report carries the points to the driver."""
    x = float(trial.params["x"])
    for step in range(STEPS):
        time.sleep(0.025)
        trial.log_metrics({"loss": x + step, "aux": -x - step}, step=step)
        trial.report(x + step, step=step)
    return x
