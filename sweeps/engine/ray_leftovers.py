"""Ray processes a killed driver left behind, found by the PIDs it recorded, ended at the next start.

A driver that starts a local Ray records the PIDs (with their start times, so a reused PID is
never mistaken for one) of that Ray's processes. A SIGKILLed driver cannot stop them, and Ray's
agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it and ignore SIGTERM; so the
next driver that starts a local Ray ends them before it starts its own.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def records_dir() -> Path:
    """Where this user's drivers keep their records (one JSON file per driver)."""
    return Path(os.environ.get("SWEEPS_RAY_RECORDS") or Path(tempfile.gettempdir()) / f"sweeps-ray-{os.getuid()}")


def _identity(process: psutil.Process) -> list[float]:
    return [process.pid, process.create_time()]


def _alive(pid: int, started: float) -> psutil.Process | None:
    try:
        process = psutil.Process(pid)
        return process if abs(process.create_time() - started) < 0.01 else None
    except psutil.Error:
        return None


def record_started_ray() -> Path:
    """Record this driver and the processes of the Ray it just started (its descendants)."""
    me = psutil.Process()
    folder = records_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{me.pid}-{int(me.create_time() * 1000)}.json"
    children = []
    for child in me.children(recursive=True):
        try:
            children.append(_identity(child))
        except psutil.Error:
            continue  # ended meanwhile
    path.write_text(json.dumps({"driver": _identity(me), "processes": children}))
    return path


def forget(path: Path | None) -> None:
    """The driver stopped its Ray itself: nothing to clean up after it."""
    if path is not None:
        path.unlink(missing_ok=True)


def end_leftovers() -> list[int]:
    """SIGKILL what drivers that died (without stopping their Ray) left running; the PIDs ended."""
    folder = records_dir()
    if not folder.is_dir():
        return []
    ended: list[int] = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            driver = record["driver"]
            processes = record["processes"]
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # unreadable: nothing it names can be trusted
            continue
        if _alive(int(driver[0]), float(driver[1])) is not None:
            continue  # its driver still runs (and owns that Ray)
        for pid, started in processes:
            process = _alive(int(pid), float(started))
            if process is None:
                continue
            try:
                process.kill()
                ended.append(int(pid))
            except psutil.Error:
                continue
        path.unlink(missing_ok=True)
    if ended:
        log.info("ended %d Ray processes a killed driver left behind: %s", len(ended), ended)
    return ended
