"""A sweep driver in a subprocess, interrupted: Ctrl-C ends it KILLED (exit 130); after a SIGKILL,
`sweeps.resume` completes the budget with no duplicated trial or child run.

Each driver starts its own local Ray (fate-shared with it), so these tests are slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import yaml

import sweeps
import tracking
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import Run, RunStatus

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ray_session")]

DEADLINE_S = 180
CLI = "import sys; from sweeps.cli import main; sys.exit(main())"  # `sweeps ...` without the script


def start_driver(place, config: dict[str, object]) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    path = place.root / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    log = open(place.root / "driver.log", "wb")  # noqa: SIM115 - the child owns it until it exits
    # Its own session, like a shell job: Ctrl-C goes to the whole group, SIGKILL too.
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "run", str(path), "--store", place.store, "--no-report"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=place.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_for(place, proc: subprocess.Popen[bytes], what: str, ready: Callable[[list[Run]], bool]) -> list[Run]:  # type: ignore[no-untyped-def]
    """Poll the store until `ready(children)` holds; fail with the driver's output at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"driver exited ({proc.returncode}) before {what}:\n{driver_output(place)}")
        children = store_children(place)
        if ready(children):
            return children
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no {what} within {DEADLINE_S}s:\n{driver_output(place)}")


def store_children(place) -> list[Run]:  # type: ignore[no-untyped-def]
    if not (place.root / "sweeps.db").exists():
        return []
    try:
        with tracking.connect(place.store) as client:
            frame = client.search_runs(filter="tags.`sweeps.kind` = 'trial'")
            return client.get_runs(list(frame["run_id"])) if frame.height else []
    except tracking.TrackingError:
        return []  # the schema may not be there yet


def driver_output(place) -> str:  # type: ignore[no-untyped-def]
    path = place.root / "driver.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def test_ctrl_c_kills_running_trials_and_exits_130(place) -> None:  # type: ignore[no-untyped-def]
    config = sweep_config("slow", place.artifacts, trials=20)
    proc = start_driver(place, config)
    wait_for(place, proc, "a running trial", lambda runs: any(r.status is RunStatus.RUNNING for r in runs))
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=DEADLINE_S) == 130, driver_output(place)
    with tracking.connect(place.store) as client:
        parent_frame = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        parent = client.get_run(parent_frame["run_id"][0])
        children = client.child_runs(parent.run_id)
    assert parent.status is RunStatus.KILLED
    statuses = [r.status for r in children]
    assert RunStatus.RUNNING not in statuses and RunStatus.KILLED in statuses
    assert len(children) < 20
    for run in children:
        if run.status is RunStatus.KILLED:
            assert "interrupted" in (run.error or "")
    assert "sweeps resume" in driver_output(place)


def test_resume_after_sigkill_reaches_the_budget_without_duplicates(place) -> None:  # type: ignore[no-untyped-def]
    trials = 12
    config = sweep_config("paced", place.artifacts, trials=trials)
    proc = start_driver(place, config)
    before = wait_for(
        place, proc, "3 finished trials", lambda runs: sum(r.status is RunStatus.FINISHED for r in runs) >= 3
    )
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started (fate-shared)
    proc.wait(timeout=60)
    sweep_id = before[0].tags["sweeps.sweep_id"]
    done_before = {r.tags["sweeps.trial_number"]: r.run_id for r in store_children(place) if r.status.is_terminal}

    result = sweeps.resume(sweep_id, store=place.store, no_report=True)
    assert result.status == "FINISHED" and result.n_trials == trials
    with tracking.connect(place.store) as client:
        runs = check_store(client, result, metric="loss")
    by_number = {r.tags["sweeps.trial_number"]: r for r in runs}
    for number, run_id in done_before.items():
        assert by_number[number].run_id == run_id  # stored trials kept, never re-run
    crashed = [r for r in runs if r.error == "driver stopped before the trial finished"]
    assert all(r.status is RunStatus.FAILED for r in crashed)
    assert result.n_finished == trials - len(crashed)
