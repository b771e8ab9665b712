"""One driver per sweep, with real driver processes on SQLite, PostgreSQL and a server: a second `sweeps resume`
is refused naming the owner and changes nothing, two racing resumes have one winner, a SIGKILLed
driver's lease lapses after its TTL (`sweeps list` then says "stale (no driver)") and a resume
succeeds, and a driver whose lease is taken from it stops launching and leaves the parent alone.

Drivers use `backend: local` (the lease is the driver's, whatever runs the trials) and the `held`
objective: trials 0-1 finish at once, later ones write a marker file and wait while a hold file exists.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import tracking
from sweeps.cli.main import main
from sweeps.engine.lease import LEASE_TTL_ENV, DriverLease
from sweeps.errors import LeaseLost
from tests.conftest import STORE_PARAMS
from tests.sweeps.engine_checks import sweep_config
from tracking import Run, RunStatus, SweepLeased
from tracking.entities import Lease
from tracking.store import open_store

pytestmark = pytest.mark.parametrize("store_uri", STORE_PARAMS, indirect=True)

DEADLINE_S = 120
TRIALS = 6
CLI = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from sweeps.cli import main; sys.exit(main())"
)
CRASHED = "driver stopped before the trial finished"
STALE = "stale (no driver)"
X = {"type": "float", "low": 0.0, "high": 1.0}


@dataclass
class Place:
    root: Path
    store: str
    markers: Path

    @property
    def hold(self) -> Path:
        return self.markers / "hold"


@pytest.fixture
def place(tmp_path: Path, store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    monkeypatch.chdir(tmp_path)
    markers = tmp_path / "markers"
    markers.mkdir()
    (markers / "hold").write_text("")
    config = sweep_config(
        "held",
        str(tmp_path / "artifacts"),
        trials=TRIALS,
        backend="local",
        parameters={"x": X, "marker_dir": str(markers)},
    )
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(config))
    yield Place(tmp_path, store_uri, markers)
    (markers / "hold").unlink(missing_ok=True)  # lets a driver a failed test left behind end


def start(place: Place, name: str, *args: str, ttl_s: float) -> subprocess.Popen[bytes]:
    """``sweeps ARGS --store ...`` in a process of its own session, its output in ``<name>.log``."""
    log = open(place.root / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it until it exits
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args, "--store", place.store, "--no-report"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=place.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1", LEASE_TTL_ENV: str(ttl_s)},
    )


def start_run(place: Place, ttl_s: float) -> subprocess.Popen[bytes]:
    return start(place, "run", "run", str(place.root / "sweep.yaml"), ttl_s=ttl_s)


def output(place: Place, name: str) -> str:
    path = place.root / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def wait_until(what: str, ready: Callable[[], bool], alive: Callable[[], str | None] = lambda: None) -> None:
    """Poll ``ready()`` until it holds; ``alive()`` returning text means a process died (fail with it)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if ready():
            return
        died = alive()
        if died is not None:
            pytest.fail(f"before {what}: {died}")
        time.sleep(0.05)  # polling interval; `ready` decides
    pytest.fail(f"no {what} within {DEADLINE_S}s")


def running(place: Place, proc: subprocess.Popen[bytes], name: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if proc.poll() is None:
            return None
        return f"{name} exited ({proc.returncode}):\n{output(place, name)[-4000:]}"

    return check


def sweep(place: Place) -> tuple[Run, list[Run]]:
    """The one sweep's parent and its children (by trial number)."""
    with tracking.connect(place.store) as client:
        frame = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert frame.height == 1, frame
        parent = client.get_run(frame["run_id"][0])
        children = client.child_runs(parent.run_id)
    return parent, sorted(children, key=lambda r: int(r.tags["sweeps.trial_number"]))


def lease_of(place: Place, run_id: str) -> Lease | None:
    store = open_store(place.store)
    try:
        return store.get_lease(run_id)
    finally:
        store.close()


def lapsed(place: Place, run_id: str) -> Callable[[], bool]:
    def check() -> bool:
        lease = lease_of(place, run_id)
        return lease is None or not lease.live

    return check


def heartbeat_at(place: Place, run_id: str) -> int:
    lease = lease_of(place, run_id)
    assert lease is not None
    return lease.heartbeat_at


def trial_running(place: Place, number: int) -> Callable[[], bool]:
    return lambda: (place.markers / f"trial-{number}").exists()


def snapshot(children: list[Run]) -> list[tuple[str, str, str, RunStatus]]:
    return [(r.run_id, r.tags["sweeps.trial_number"], r.name, r.status) for r in children]


def check_final(place: Place, status: RunStatus = RunStatus.FINISHED) -> tuple[Run, list[Run]]:
    """The sweep ended ``status`` with exactly the budget's trials, numbers 0..n-1 once each, none RUNNING,
    and no lease left behind. Trials a crash left running are closed FAILED and run again: the budget
    counts the others."""
    parent, children = sweep(place)
    assert parent.status is status and parent.end_time is not None, parent
    numbers = [int(r.tags["sweeps.trial_number"]) for r in children]
    assert numbers == list(range(len(children))), numbers
    crashed = [r for r in children if r.error == "driver stopped before the trial finished"]
    assert len(children) - len(crashed) == TRIALS, snapshot(children)
    assert len([r for r in children if "sweeps.rerun_of" in r.tags]) == len(crashed)
    assert all(r.status.is_terminal for r in children), snapshot(children)
    assert lease_of(place, parent.run_id) is None
    return parent, children


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def listed_row(capsys: pytest.CaptureFixture[str], place: Place, sweep_id: str) -> str:
    """The sweep's row of `sweeps list`."""
    code, text = cli(capsys, "list", "--store", place.store)
    assert code == 0, text
    return next(line for line in text.splitlines() if line.startswith(sweep_id))


# -- (a) a resume while the original driver is alive --------------------------------------------


def test_a_resume_while_the_driver_runs_is_refused_naming_it_and_changes_nothing(
    place: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    ttl_s = 5.0  # the driver renews every 1.7s: a loaded machine never lets it lapse here
    driver = start_run(place, ttl_s)
    wait_until("trial 2 running", trial_running(place, 2), running(place, driver, "run"))
    parent, before = sweep(place)
    sweep_id = parent.tags["sweeps.sweep_id"]
    assert STALE not in listed_row(capsys, place, sweep_id)

    started = time.monotonic()
    refused = start(place, "resume", "resume", sweep_id, ttl_s=ttl_s)
    assert refused.wait(timeout=DEADLINE_S) == 1, output(place, "resume")
    refused_in_s = time.monotonic() - started
    text = output(place, "resume")
    assert f"sweep {sweep_id} already has a driver" in text, text
    assert f"pid {driver.pid} on host {socket.gethostname()}" in text, text
    assert "lapses in" in text and "Nothing was changed" in text, text
    assert "Traceback" not in text, text

    parent_after, after = sweep(place)
    assert snapshot(after) == snapshot(before)  # no trial added, none ended
    assert parent_after.status is RunStatus.RUNNING and parent_after.end_time is None
    holder = lease_of(place, parent.run_id)
    assert holder is not None and holder.pid == driver.pid and holder.live

    place.hold.unlink()
    assert driver.wait(timeout=DEADLINE_S) == 0, output(place, "run")
    _, children = check_final(place)
    assert all(r.status is RunStatus.FINISHED for r in children)
    print(f"refused resume took {refused_in_s:.2f}s (process start included)")


# -- (b) two resumes of a crashed sweep at once ---------------------------------------------------


def crash_at_trial_2(place: Place, ttl_s: float) -> tuple[Run, float]:
    """Run until trial 2 runs, SIGKILL the driver; the parent and when it died (monotonic)."""
    driver = start_run(place, ttl_s)
    wait_until("trial 2 running", trial_running(place, 2), running(place, driver, "run"))
    os.killpg(driver.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    driver.wait(timeout=60)
    parent, children = sweep(place)
    assert parent.status is RunStatus.RUNNING
    assert [r.status for r in children] == [RunStatus.FINISHED, RunStatus.FINISHED, RunStatus.RUNNING]
    return parent, killed_at


def test_two_resumes_of_a_crashed_sweep_at_once_one_proceeds_the_other_is_refused(place: Place) -> None:
    ttl_s = 3.0
    parent, _ = crash_at_trial_2(place, ttl_s)
    wait_until("the dead driver's lease to lapse", lapsed(place, parent.run_id))
    sweep_id = parent.tags["sweeps.sweep_id"]
    # The hold file stays: the winner blocks in trial 3, so the loser always finds it driving.
    first = start(place, "resume-1", "resume", sweep_id, ttl_s=ttl_s)
    second = start(place, "resume-2", "resume", sweep_id, ttl_s=ttl_s)
    procs = {"resume-1": first, "resume-2": second}
    wait_until("one resume to exit", lambda: first.poll() is not None or second.poll() is not None)
    loser_name = "resume-1" if first.poll() is not None else "resume-2"
    winner_name = "resume-2" if loser_name == "resume-1" else "resume-1"
    loser, winner = procs[loser_name], procs[winner_name]
    assert loser.returncode == 1, output(place, loser_name)
    text = output(place, loser_name)
    assert "already has a driver" in text and f"pid {winner.pid} on host" in text, text
    wait_until("trial 3 running", trial_running(place, 3), running(place, winner, winner_name))

    place.hold.unlink()
    assert winner.wait(timeout=DEADLINE_S) == 0, output(place, winner_name)
    _, children = check_final(place)
    assert [r.status for r in children][:3] == [RunStatus.FINISHED, RunStatus.FINISHED, RunStatus.FAILED]
    assert children[2].error == CRASHED
    assert all(r.status is RunStatus.FINISHED for r in children[3:])


# -- (c, d) a SIGKILLed driver's lease lapses; list says stale; a resume then succeeds ------------


def test_a_killed_drivers_lease_lapses_after_its_ttl_the_sweep_lists_stale_and_resumes(
    place: Place, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ttl_s = 6.0  # room for the checks made before it lapses
    parent, killed_at = crash_at_trial_2(place, ttl_s)
    sweep_id = parent.tags["sweeps.sweep_id"]
    right_after = lease_of(place, parent.run_id)
    assert right_after is not None and right_after.live and right_after.expires_in_s <= ttl_s
    row = listed_row(capsys, place, sweep_id)
    still = lease_of(place, parent.run_id)
    assert still is not None and still.live, "the lease lapsed before `sweeps list` ran; raise ttl_s"
    assert "RUNNING" in row and STALE not in row, row

    wait_until("the dead driver's lease to lapse", lapsed(place, parent.run_id))
    lapsed_after_s = time.monotonic() - killed_at
    # The last renewal was about a third of the TTL before the kill at most (a loaded machine may
    # delay a heartbeat); it lapses one TTL after it, give or take the polling.
    assert ttl_s / 3 <= lapsed_after_s <= ttl_s + 2.0, lapsed_after_s
    row = listed_row(capsys, place, sweep_id)
    assert STALE in row, row
    code, text = cli(capsys, "show", sweep_id, "--store", place.store)
    assert code == 0 and STALE in text, text

    place.hold.unlink()
    monkeypatch.setenv(LEASE_TTL_ENV, str(ttl_s))
    code, text = cli(capsys, "resume", sweep_id, "--store", place.store, "--no-report")
    assert code == 0, text
    _, children = check_final(place)
    assert children[2].status is RunStatus.FAILED and children[2].error == CRASHED
    row = listed_row(capsys, place, sweep_id)
    assert "FINISHED" in row and STALE not in row, row
    print(f"lease lapsed {lapsed_after_s:.2f}s after the SIGKILL (ttl {ttl_s}s)")


# -- a driver whose lease is taken from it --------------------------------------------------------


def test_a_driver_that_loses_its_lease_launches_nothing_more_and_leaves_the_parent(place: Place) -> None:
    ttl_s = 1.5
    driver = start_run(place, ttl_s)
    wait_until("trial 2 running", trial_running(place, 2), running(place, driver, "run"))
    parent, _ = sweep(place)
    held = lease_of(place, parent.run_id)
    assert held is not None and held.pid == driver.pid
    # As if the driver had stalled past its TTL and another driver had resumed the sweep.
    store = open_store(place.store)
    try:
        store.release_lease(parent.run_id, held.owner)
        store.acquire_lease(parent.run_id, "other-driver", "other-host", 4242, 600.0)
    finally:
        store.close()
    wait_until("the driver to notice", lambda: "lost its lease" in output(place, "run"), running(place, driver, "run"))
    place.hold.unlink()  # trial 2 ends; nothing may follow it

    assert driver.wait(timeout=DEADLINE_S) == 1, output(place, "run")
    text = output(place, "run")
    assert "pid 4242 on host other-host" in text and "launched no more trials" in text, text
    after, children = sweep(place)
    assert [int(r.tags["sweeps.trial_number"]) for r in children] == [0, 1, 2]
    assert after.status is RunStatus.RUNNING and after.end_time is None  # the other driver's to end
    # Trial 2 ended after the lease was lost: its run is the new owner's to close, not overwritten.
    assert children[2].status is RunStatus.RUNNING and children[2].end_time is None
    kept = lease_of(place, parent.run_id)
    assert kept is not None and kept.owner == "other-driver"


# -- the driver's lease object ------------------------------------------------------------------


def test_the_heartbeat_keeps_the_lease_past_its_ttl_and_release_frees_it(place: Place) -> None:
    with tracking.connect(place.store) as client:
        run_id = client.start_run("leases").run_id
    lease = DriverLease(place.store, "s-1", ttl_s=1.0)
    try:
        lease.acquire(run_id)
        first = lease_of(place, run_id)
        assert first is not None and first.owner == lease.owner and first.pid == os.getpid()
        # Renewed by the heartbeat: two TTLs later it is still live and no one else gets it.
        wait_until("renewals for two TTLs", lambda: heartbeat_at(place, run_id) >= first.heartbeat_at + 2000)
        store = open_store(place.store)
        try:
            with pytest.raises(SweepLeased):
                store.acquire_lease(run_id, "other", "other-host", 1, 30.0)
        finally:
            store.close()
        lease.confirm()
    finally:
        lease.release()
    assert lease_of(place, run_id) is None


def test_a_lease_taken_over_is_reported_once_and_not_released(place: Place) -> None:
    with tracking.connect(place.store) as client:
        run_id = client.start_run("leases").run_id
    lost: list[str] = []
    lease = DriverLease(place.store, "s-2", ttl_s=1.0)
    lease.on_lost = lost.append
    try:
        lease.acquire(run_id)
        store = open_store(place.store)
        try:
            store.release_lease(run_id, lease.owner)
            store.acquire_lease(run_id, "thief", "thief-host", 7, 30.0)
            wait_until("the heartbeat to notice", lambda: bool(lost))
            with pytest.raises(LeaseLost, match="pid 7 on host thief-host"):
                lease.confirm()
        finally:
            store.close()
    finally:
        lease.release()
    assert len(lost) == 1 and "lost its lease" in lost[0]
    kept = lease_of(place, run_id)
    assert kept is not None and kept.owner == "thief"  # release left the other driver's lease alone
