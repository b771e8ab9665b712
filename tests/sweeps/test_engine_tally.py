"""A sweep's failure summary names what went wrong: the line of an error that says it."""

from __future__ import annotations

import pytest

from sweeps.engine.tally import Tally
from tests.support.error_texts import RAY_OOM, RAY_OOM_NEW, SQLALCHEMY
from tracking.entities import RunStatus


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SQLALCHEMY, "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed"),
        (RAY_OOM, "Memory on the node (IP: 192.168.0.107) was 59.49GB / 62.58GB (0.950744), which exceeds"),
        (RAY_OOM_NEW, "Memory on the node (IP: 10.0.0.5) was 30.12GB used / 31.00GB limit (0.971613)"),
    ],
    ids=["sqlalchemy", "ray-oom", "ray-oom-2.60"],
)
def test_the_failure_summary_keeps_the_meaningful_line(error: str, expected: str) -> None:
    tally = Tally(maximize=True, started=1)
    tally.ended(3, RunStatus.FAILED, error)
    assert tally.errors[0].startswith(f"trial 3: {expected}"), tally.errors
    assert "Background on this error" not in tally.errors[0] and "RAY_memory" not in tally.errors[0]
    status, summary = tally.final_status(interrupted=False, fatal=None)
    assert status is RunStatus.FAILED and summary is not None and expected in summary
