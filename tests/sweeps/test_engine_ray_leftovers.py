"""A SIGKILLed driver's local Ray leaves agents running (they ignore SIGTERM); the next start ends
them by the PIDs the dead driver recorded, and never touches a live driver's Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sweeps.engine import ray_leftovers

DEADLINE_S = 120
# What RayBackend.start does for a driver without execution.address: a local Ray, recorded.
DRIVER = (
    "import sys, time; from sweeps.engine.ray_backend import connect_ray; from sweeps.engine import ray_leftovers; "
    "assert connect_ray(None); ray_leftovers.record_started_ray(); print('ready', flush=True); time.sleep(3600)"
)


def start_driver(records: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "SWEEPS_RAY_RECORDS": str(records)},
        )


def wait_ready(driver: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while "ready" not in log.read_text():
        if driver.poll() is not None or time.monotonic() > deadline:
            driver.kill()
            pytest.fail(f"the driver did not start its Ray:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)  # polling the driver's output


def agents_of(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if process.name().startswith("ray::") and "Agent" in process.name():
                out.append(process)
        except psutil.Error:
            continue
    return out


def recorded_pids(records: Path) -> list[int]:
    import json

    (record,) = records.glob("*.json")
    return [int(pid) for pid, _ in json.loads(record.read_text())["processes"]]


def test_a_killed_drivers_ray_agents_are_ended_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "records"
    driver = start_driver(records, tmp_path / "driver.log")
    wait_ready(driver, tmp_path / "driver.log")
    pids = recorded_pids(records)
    assert len(agents_of(pids)) == 2  # ray::DashboardAgent and ray::RuntimeEnvAgent
    monkeypatch.setenv("SWEEPS_RAY_RECORDS", str(records))
    assert ray_leftovers.end_leftovers() == []  # its driver is alive: its Ray is not touched
    assert len(agents_of(pids)) == 2
    driver.send_signal(signal.SIGKILL)  # the driver only, as the OOM killer would
    driver.wait(30)
    left = agents_of(pids)
    assert left, "the agents died with their driver: nothing left to clean up (the bug is gone upstream?)"
    ended = ray_leftovers.end_leftovers()
    assert {p.pid for p in left} <= set(ended)
    _, alive = psutil.wait_procs(left, timeout=30)
    assert alive == [] and not list(records.glob("*.json"))
    for pid in pids:  # nothing of that Ray is left at all
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
