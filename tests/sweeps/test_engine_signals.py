"""A sweep driver in a subprocess, interrupted: Ctrl-C (exit 130) or SIGTERM (exit 143) ends it KILLED
with the running trials' points kept; after a SIGKILL, `sweeps.resume` completes the budget with no duplicated
trial or child run (once the killed driver's lease has lapsed: its TTL is short here).

The default tests' drivers join the session's Ray (`execution.address`) and synchronise on marker
files their objectives write; the slow variants start a Ray of their own, as a user's driver does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import sweeps
import tracking
from sweeps.engine.lease import LEASE_TTL_ENV
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config
from tracking import Run, RunStatus
from tracking.store import open_store

pytestmark = pytest.mark.usefixtures("ray_session")

DEADLINE_S = 180
# `sweeps ...` without the script. Ctrl-C at its default first, as in a shell job: a process whose
# parent ignores SIGINT inherits "ignored", and something in the test process may have set that.
CLI = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from sweeps.cli import main; sys.exit(main())"
)
CRASHED = "driver stopped before the trial finished"
LEASE_TTL_S = 2.0  # the drivers' lease: a SIGKILLed one's lapses this long after its last renewal
X = {"type": "float", "low": 0.0, "high": 1.0}


def start_driver(place: SweepPlace, config: dict[str, object]) -> subprocess.Popen[bytes]:
    """`sweeps run` of `config` in a subprocess of its own session (like a shell job)."""
    path = place.root / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    log = open(place.root / "driver.log", "wb")  # noqa: SIM115 - the child owns it until it exits
    # Its own session: Ctrl-C goes to the whole group, SIGKILL too (and never to pytest).
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "run", str(path), "--store", place.store, "--no-report"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=place.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1", LEASE_TTL_ENV: str(LEASE_TTL_S)},
    )


def wait_until(place: SweepPlace, proc: subprocess.Popen[bytes], what: str, ready: Callable[[], bool]) -> None:
    """Poll `ready()` until it holds; fail with the driver's output if the driver exits or the deadline passes."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"driver exited ({proc.returncode}) before {what}:\n{driver_output(place)}")
        if ready():
            return
        time.sleep(0.05)  # polling interval, not a synchronisation: `ready` decides
    proc.kill()
    pytest.fail(f"no {what} within {DEADLINE_S}s:\n{driver_output(place)}")


def wait_for(
    place: SweepPlace, proc: subprocess.Popen[bytes], what: str, ready: Callable[[list[Run]], bool]
) -> list[Run]:
    """Poll the store until `ready(children)` holds; returns those children."""
    seen: list[list[Run]] = []

    def check() -> bool:
        seen.append(store_children(place))
        return ready(seen[-1])

    wait_until(place, proc, what, check)
    return seen[-1]


def wait_lease_lapsed(parent_run_id: str, place: SweepPlace) -> None:
    """Poll the store until the killed driver's lease has lapsed: a resume before that is refused."""
    deadline = time.monotonic() + DEADLINE_S
    store = open_store(place.store)
    try:
        while time.monotonic() < deadline:
            lease = store.get_lease(parent_run_id)
            if lease is None or not lease.live:
                return
            time.sleep(0.05)  # polling interval; the lease's expiry decides
    finally:
        store.close()
    pytest.fail(f"the killed driver's lease did not lapse within {DEADLINE_S}s")


def store_children(place: SweepPlace) -> list[Run]:
    if not (place.root / "sweeps.db").exists():
        return []
    try:
        with tracking.connect(place.store) as client:
            frame = client.search_runs(filter="tags.`sweeps.kind` = 'trial'")
            return client.get_runs(list(frame["run_id"])) if frame.height else []
    except tracking.TrackingError:
        return []  # the schema may not be there yet


def driver_output(place: SweepPlace) -> str:
    path = place.root / "driver.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def markers(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.startswith("trial-")}


def by_number(runs: list[Run]) -> dict[int, Run]:
    return {int(r.tags["sweeps.trial_number"]): r for r in runs}


# -- on the session's Ray (default suite) -------------------------------------------------------


def deliver(proc: subprocess.Popen[bytes], how: str) -> None:
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal sends it to the whole foreground group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # kill, systemd, Kubernetes: to the driver process


@pytest.mark.parametrize(("how", "exit_code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_a_stop_signal_kills_the_running_trials_keeps_their_points_and_exits_128_plus_signal(
    place: SweepPlace, ray_address: str, how: str, exit_code: int
) -> None:
    marker_dir = place.root / "markers"
    marker_dir.mkdir()
    config = sweep_config(
        "logs_then_waits",
        place.artifacts,
        trials=6,
        parameters={"x": X, "marker_dir": str(marker_dir)},
        pruner={"name": "median"},  # each report a round trip: the points reach the driver before the marker
        execution={"address": ray_address},
    )
    proc = start_driver(place, config)
    wait_until(place, proc, "both trials logging", lambda: markers(marker_dir) == {"trial-0", "trial-1"})
    deliver(proc, how)
    assert proc.wait(timeout=DEADLINE_S) == exit_code, driver_output(place)

    with tracking.connect(place.store) as client:
        parent_frame = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert parent_frame.height == 1
        parent = client.get_run(parent_frame["run_id"][0])
        children = by_number(client.child_runs(parent.run_id))
        histories = {n: client.get_metric_history(r.run_id, "progress") for n, r in children.items()}
    assert parent.status is RunStatus.KILLED and parent.end_time is not None
    assert sorted(children) == [0, 1]  # nothing launched after Ctrl-C
    for number, run in children.items():
        assert run.status is RunStatus.KILLED and run.end_time is not None, run
        assert "interrupted" in (run.error or ""), run
        assert [(m.step, m.value) for m in histories[number]] == [(0, 0.0), (1, 1.0), (2, 2.0)]
    sweep_id = parent.tags["sweeps.sweep_id"]
    assert f"sweeps resume {sweep_id}" in driver_output(place)


def test_resume_after_the_driver_is_sigkilled_completes_the_budget(place: SweepPlace, ray_address: str) -> None:
    trials = 6
    marker_dir = place.root / "markers"
    marker_dir.mkdir()
    (marker_dir / "hold").write_text("")  # trials 2 and 3 wait on it while the driver is killed
    config = sweep_config(
        "held",
        place.artifacts,
        trials=trials,
        parameters={"x": X, "marker_dir": str(marker_dir)},
        execution={"address": ray_address},
    )
    proc = start_driver(place, config)

    def two_finished_two_running(runs: list[Run]) -> bool:
        states = {n: r.status for n, r in by_number(runs).items()}
        expected = {0: RunStatus.FINISHED, 1: RunStatus.FINISHED, 2: RunStatus.RUNNING, 3: RunStatus.RUNNING}
        return states == expected and markers(marker_dir) == {"trial-2", "trial-3"}

    before = by_number(wait_for(place, proc, "2 finished and 2 running trials", two_finished_two_running))
    os.killpg(proc.pid, signal.SIGKILL)  # the driver only: the session's Ray lives on
    proc.wait(timeout=60)
    (marker_dir / "hold").unlink()
    wait_lease_lapsed(before[0].parent_run_id or "", place)

    result = sweeps.resume(before[0].tags["sweeps.sweep_id"], store=place.store, no_report=True)
    # The budget counts finished work: the two crashed trials are closed FAILED and run again.
    assert result.status == "FINISHED"
    assert (result.n_trials, result.n_finished, result.n_failed) == (trials + 2, trials, 2)
    with tracking.connect(place.store) as client:
        runs = by_number(check_store(client, result, metric="loss"))  # unique numbers, none left RUNNING
    assert sorted(runs) == list(range(trials + 2))
    for number in (0, 1):
        assert runs[number].run_id == before[number].run_id  # stored trials kept, never re-run
    for number in (2, 3):
        assert runs[number].run_id == before[number].run_id
        assert runs[number].status is RunStatus.FAILED and runs[number].error == CRASHED
    reruns = {runs[n].tags.get("sweeps.rerun_of"): runs[n] for n in (4, 5)}
    assert set(reruns) == {"2", "3"}  # launched first, with the crashed trials' params
    for number in (2, 3):
        assert reruns[str(number)].params["x"] == runs[number].params["x"]
    assert all(runs[n].status is RunStatus.FINISHED for n in range(4, trials + 2))


# -- drivers that start their own Ray (slow) -----------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_kills_running_trials_and_exits_130(place: SweepPlace) -> None:
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


@pytest.mark.slow
def test_resume_after_sigkill_reaches_the_budget_without_duplicates(place: SweepPlace) -> None:
    trials = 12
    config = sweep_config("paced", place.artifacts, trials=trials)
    proc = start_driver(place, config)
    before = wait_for(
        place, proc, "3 finished trials", lambda runs: sum(r.status is RunStatus.FINISHED for r in runs) >= 3
    )
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started (fate-shared)
    proc.wait(timeout=60)
    sweep_id = before[0].tags["sweeps.sweep_id"]
    at_kill = store_children(place)
    done_before = {r.tags["sweeps.trial_number"]: r.run_id for r in at_kill if r.status.is_terminal}
    running_at_kill = {r.tags["sweeps.trial_number"] for r in at_kill if r.status is RunStatus.RUNNING}
    wait_lease_lapsed(before[0].parent_run_id or "", place)

    result = sweeps.resume(sweep_id, store=place.store, no_report=True)
    assert result.status == "FINISHED" and result.n_trials == trials + len(running_at_kill)
    with tracking.connect(place.store) as client:
        runs = check_store(client, result, metric="loss")
    numbered = {r.tags["sweeps.trial_number"]: r for r in runs}
    for number, run_id in done_before.items():
        assert numbered[number].run_id == run_id  # stored trials kept, never re-run
    crashed = {n for n, r in numbered.items() if r.error == CRASHED}
    assert crashed == running_at_kill  # exactly the trials left RUNNING were closed as crashed
    assert all(numbered[n].status is RunStatus.FAILED for n in crashed)
    assert result.n_finished == trials  # crashed trials do not count: they were run again
