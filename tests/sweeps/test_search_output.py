"""A trial's own output (print, logging, warnings, stderr) lands in its run as `output.log` on both
backends, bounded in size; a failed trial's last lines are shown by its error in the CLI and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

import sweeps
from sweeps.engine.output_capture import Captured
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config
from tests.sweeps.test_cli_run import cli
from tracking import RunStatus


def test_the_capture_keeps_the_last_bytes_and_says_how_many_were_dropped() -> None:
    captured = Captured(limit=10)
    captured.write("0123456789")
    captured.write("abcd")
    assert captured.data() == b"[... 4 earlier bytes of output dropped; the last 10 kept]\n456789abcd"


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_each_trial_keeps_its_output_and_a_failure_shows_its_last_lines(
    capsys: pytest.CaptureFixture[str], place: SweepPlace, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "ray":
        request.getfixturevalue("ray_session")
    config = sweep_config(
        "chatty",
        place.artifacts,
        trials=3,
        backend=backend,
        parameters={"x": {"type": "float", "low": 0, "high": 1}, "fail_at": 1},
    )
    result = sweeps.run(config, store=place.store)
    assert (result.n_finished, result.n_failed) == (2, 1)
    assert "its output ended: about to fail: the input looks wrong" in result.errors[0]
    with place.client() as client:
        runs = check_store(client, result, metric="loss")
        for number, run in enumerate(runs):
            text = client.artifacts(run.run_id).read_bytes("output.log").decode()
            for expected in (
                f"hello from trial {number}",
                f"log line of trial {number}",
                f"warned in trial {number}",
                f"stderr of trial {number}",
            ):
                assert expected in text, (number, expected, text)
            assert f"trial {1 - number}" not in text or number == 1 - number  # never another trial's lines
        failed = runs[1]
        assert failed.status is RunStatus.FAILED
        assert failed.tags["sweeps.output_tail"].splitlines()[-1] == "about to fail: the input looks wrong"
    code, out, _ = cli(capsys, "show", result.sweep_id, "--store", place.store)
    assert code == 0 and "trial-1 failed: RuntimeError: boom" in out
    assert "  | about to fail: the input looks wrong" in out
    html = Path(result.report_path or "").read_text(encoding="utf-8")
    assert "the last lines of its output" in html and "about to fail: the input looks wrong" in html


_DRIVER_WARNS = """
import logging, threading
from sweeps.engine.output_capture import capture_output

started, done = threading.Event(), threading.Event()

def trial():
    with capture_output():
        started.set()
        done.wait(30)

worker = threading.Thread(target=trial)
worker.start()
started.wait(30)
logging.getLogger("sweeps.engine.lease").warning("this driver lost its lease")  # not the trial's thread
done.set()
worker.join()
"""


def test_the_drivers_own_warnings_still_reach_stderr_while_a_trial_captures() -> None:
    import subprocess
    import sys

    # A process without logging set up (as `sweeps run` is): Python's last-resort handler prints
    # warnings to stderr; the capture's root handler must not swallow other threads' records.
    done = subprocess.run([sys.executable, "-c", _DRIVER_WARNS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "this driver lost its lease" in done.stderr
