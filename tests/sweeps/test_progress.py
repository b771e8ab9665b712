"""The progress display: pure rendering (counts, best, ETA) and the plain / live callback."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from sweeps.engine.result import RunningTrial, SweepProgress
from sweeps.progress import (
    PlainReporter,
    ProgressDisplay,
    counts_text,
    eta_text,
    format_duration,
    format_value,
    render_rich,
    summary_line,
)

ANSI = re.compile(r"\x1b\[")


def snapshot(**changes: object) -> SweepProgress:
    base = SweepProgress(
        sweep_id="digits-sgd-0a1b2c3d",
        parent_run_id="p" * 32,
        status="RUNNING",
        budget=40,
        started=14,
        finished=8,
        pruned=3,
        failed=1,
        killed=0,
        running=(RunningTrial(12, "w-1", 0, 1.5), RunningTrial(13, "w-2", 0, 0.2)),
        elapsed_s=24.0,
        completed_this_session=12,
        timeout_s=None,
        best_value=0.961234,
        best_trial=7,
        best_run_id="r" * 32,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def plain_text(renderable: object, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (float("nan"), "?"), (0, "0:00"), (7.4, "0:07"), (65, "1:05"), (3723, "1:02:03"), (-3, "0:00")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_value() -> None:
    assert format_value(None) == "-"
    assert format_value(0.961234567) == "0.961235"
    assert format_value(57.69301) == "57.693"


def test_counts_add_up_and_killed_only_when_present() -> None:
    p = snapshot()
    assert p.completed == 12
    assert counts_text(p) == "12/40 done · 2 running · 3 pruned · 1 failed"
    assert counts_text(snapshot(killed=2)).endswith(" · 2 killed")


def test_eta_from_the_pace_of_this_session() -> None:
    # 12 trials in 24 s -> 2 s each; 28 left -> 56 s
    assert eta_text(snapshot()) == "ETA 0:56"
    # A ticking clock 6 s past the snapshot takes those seconds off.
    assert eta_text(snapshot(), elapsed_s=30.0) == "ETA 0:50"
    # The wall-clock budget caps it.
    assert eta_text(snapshot(timeout_s=30.0)) == "ETA 0:06"


def test_eta_unknown_before_a_trial_ended_and_absent_when_over() -> None:
    assert eta_text(snapshot(finished=0, pruned=0, failed=0, completed_this_session=0)) == "ETA ?"
    assert eta_text(snapshot(status="FINISHED")) == ""
    assert eta_text(snapshot(done=True)) == ""


def test_summary_line_has_counts_best_elapsed_eta() -> None:
    line = summary_line(snapshot(), "val_accuracy")
    assert line == (
        "[0:24] digits-sgd-0a1b2c3d · 12/40 done · 2 running · 3 pruned · 1 failed"
        " · best val_accuracy=0.961234 (trial 7) · ETA 0:56"
    )
    assert "best -" in summary_line(snapshot(best_value=None, best_trial=None))
    final = summary_line(snapshot(status="FINISHED", running=()))
    assert final.endswith(" · FINISHED") and "ETA" not in final


def test_rich_rendering_shows_the_same_facts_in_80_columns() -> None:
    text = plain_text(render_rich(snapshot(), "val_accuracy"), width=80)
    assert "digits-sgd-0a1b2c3d" in text and "12/40 done" in text
    assert "2 running · 8 finished · 3 pruned · 1 failed" in text
    assert "best val_accuracy=0.961234 (trial 7)" in text
    assert "0:24 elapsed" in text and "ETA 0:56" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    ended = plain_text(render_rich(snapshot(status="KILLED", killed=2, running=()), "val_accuracy"))
    assert "KILLED" in ended and "2 killed" in ended and "ETA" not in ended


def test_rich_rendering_is_coloured_on_a_terminal_only() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")
    console.print(render_rich(snapshot(), "val_accuracy"))
    assert ANSI.search(console.file.getvalue())  # type: ignore[attr-defined]
    assert not ANSI.search(plain_text(render_rich(snapshot(), "val_accuracy")))


def test_plain_reporter_writes_on_each_ended_trial_failure_heartbeat_and_end() -> None:
    r = PlainReporter(metric="val_accuracy", heartbeat_s=10.0)
    first = snapshot(started=2, finished=0, pruned=0, failed=0, completed_this_session=0, best_value=None)
    assert len(r.lines(first, now=0.0)) == 1  # the sweep started
    assert r.lines(first, now=5.0) == []  # nothing changed, not quiet for long
    assert len(r.lines(first, now=10.5)) == 1  # heartbeat
    one_done = replace(first, finished=1, completed_this_session=1, best_value=0.9, best_trial=0)
    (line,) = r.lines(one_done, now=11.0)
    assert "1/40 done" in line and "val_accuracy=0.9 (trial 0)" in line
    failed = replace(one_done, failed=1, completed_this_session=2, errors=("trial 1: ValueError: boom",))
    lines = r.lines(failed, now=11.5)
    assert lines[0] == "  failed: trial 1: ValueError: boom" and "1 failed" in lines[1]
    # All trials ended but the parent is still being closed: wait for the final snapshot.
    closing = replace(failed, finished=39, done=True, running=())
    assert r.lines(closing, now=12.0) == []
    final = replace(closing, status="FINISHED")
    (last,) = r.lines(final, now=12.1)
    assert "40/40 done" in last and last.endswith("FINISHED")
    assert r.lines(final, now=30.0) == []  # nothing after the end


def test_display_in_plain_mode_writes_lines_without_ansi() -> None:
    out = io.StringIO()
    clock = iter(range(100))
    with ProgressDisplay(metric="val_accuracy", stream=out, clock=lambda: float(next(clock))) as display:
        assert not display.live  # a StringIO is not a terminal
        for n in range(1, 4):
            display(snapshot(finished=n, pruned=0, failed=0, completed_this_session=n))
        display(snapshot(finished=3, pruned=0, failed=1, completed_this_session=4, errors=("trial 3: boom",)))
        display(snapshot(status="FINISHED", running=(), finished=3, pruned=0, failed=1))
    text = out.getvalue()
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert [line for line in lines if "failed: trial 3: boom" in line]
    assert lines[-1].endswith("FINISHED")
    assert display.last is not None and display.last.status == "FINISHED"


def test_display_in_live_mode_draws_and_stops_cleanly() -> None:
    out = io.StringIO()
    with ProgressDisplay(metric="val_rmse", stream=out, live=True) as display:
        display(snapshot(goal="minimize", best_value=57.7, errors=("trial 2: RuntimeError: x",)))
        display(snapshot(status="FINISHED", running=(), goal="minimize", best_value=57.7))
    text = out.getvalue()
    assert ANSI.search(text)  # a terminal gets the live, coloured view
    plain = ANSI.sub("", text)
    assert "best val_rmse=57.7" in re.sub(r"\[[0-9;?]*[A-Za-z]", "", plain)
    assert "failed: trial 2: RuntimeError: x" in re.sub(r"\[[0-9;?]*[A-Za-z]", "", plain)
    display.close()  # closing twice is harmless


def test_plain_reporter_writes_each_failure_once_even_when_it_lands_with_the_closing_snapshot() -> None:
    r = PlainReporter(metric="loss")
    r.lines(snapshot(started=1, finished=0, failed=0, completed_this_session=0), now=0.0)
    # The last trial failed and every trial ended: the sweep is closing, the final snapshot follows.
    closing = snapshot(failed=1, completed_this_session=1, done=True, running=(), errors=("trial 0: E: x",))
    assert r.lines(closing, now=1.0) == ["  failed: trial 0: E: x"]
    final = replace(closing, status="FAILED")
    lines = r.lines(final, now=1.1)
    assert [line for line in lines if "failed: trial" in line] == []  # written above, not again
    assert lines[-1].endswith("FAILED")
