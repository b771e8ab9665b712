"""What a lost Ray worker is reported as: the reason that says why, from Ray's real texts."""

from __future__ import annotations

from ray.exceptions import OutOfMemoryError, RayActorError

from sweeps.engine.ray_backend import _cause, _death_reason
from tests.support.error_texts import RAY_OOM, RAY_OOM_NEW


def test_an_oom_killed_worker_is_reported_with_the_memory_figures() -> None:
    reason = _death_reason(RayActorError(error_msg=RAY_OOM_NEW))
    assert reason == (
        "killed by Ray for lack of memory: "
        "Memory on the node (IP: 10.0.0.5) was 30.12GB used / 31.00GB limit (0.971613)"
    )
    assert _cause(OutOfMemoryError(RAY_OOM)) == (
        "Memory on the node (IP: 192.168.0.107) was 59.49GB / 62.58GB (0.950744), "
        "which exceeds the memory usage threshold of 0.95"
    )


def test_another_death_keeps_rays_exit_detail() -> None:
    text = (
        "The actor died unexpectedly before finishing this task.\n"
        "The actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR "
        "Worker exit detail: Worker unexpectedly exits with a connection error code 2. End of file.\n"
    )
    assert _death_reason(RayActorError(error_msg=text)).startswith("exit detail: Worker unexpectedly exits")
