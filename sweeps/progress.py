"""Live progress of a running sweep: a rich line on a terminal, plain log lines anywhere else.

Rendering (`summary_line`, `render_rich`, ...) is pure and tested; `ProgressDisplay` is the
stateful callback the CLI passes to `sweeps.run(progress=...)`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from sweeps.engine.result import SweepProgress

__all__ = [
    "PlainReporter",
    "ProgressDisplay",
    "counts_text",
    "eta_text",
    "format_duration",
    "format_value",
    "render_rich",
    "summary_line",
]

RUNNING = "RUNNING"


# -- pure rendering ------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """`0:07`, `12:05`, `1:02:03`; `?` when unknown."""
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "?"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_value(value: float | None) -> str:
    """A metric value short enough for one line (6 significant digits); `-` when there is none."""
    if value is None:
        return "-"
    return f"{value:.6g}"


def _extra(p: SweepProgress, elapsed_s: float | None) -> float:
    # Seconds since the snapshot was taken, when the caller ticks the clock between snapshots.
    return 0.0 if elapsed_s is None else max(0.0, elapsed_s - p.elapsed_s)


def eta_text(p: SweepProgress, elapsed_s: float | None = None) -> str:
    """Time left until the budget is used up: `ETA 0:45`, `ETA ?` before any trial ended, `` when over."""
    if p.status != RUNNING or p.done:
        return ""
    eta = p.eta_s
    if eta is None:
        return "ETA ?"
    return f"ETA {format_duration(max(0.0, eta - _extra(p, elapsed_s)))}"


def counts_text(p: SweepProgress) -> str:
    """`12/40 done · 2 running · 3 pruned · 1 failed` (killed only when there are any)."""
    parts = [
        f"{p.completed}/{p.budget} done",
        f"{p.n_running} running",
        f"{p.pruned} pruned",
        f"{p.failed} failed",
    ]
    if p.killed:
        parts.append(f"{p.killed} killed")
    return " · ".join(parts)


def best_text(p: SweepProgress, metric: str | None = None) -> str:
    """`best val_accuracy=0.961 (trial 7)`; `best -` before a trial finished."""
    label = f"best {metric}" if metric else "best"
    if p.best_value is None:
        return f"{label} -"
    trial = f" (trial {p.best_trial})" if p.best_trial is not None else ""
    sep = "=" if metric else " "
    return f"{label}{sep}{format_value(p.best_value)}{trial}"


def summary_line(p: SweepProgress, metric: str | None = None, elapsed_s: float | None = None) -> str:
    """One plain line (no ANSI codes) with everything a log reader needs."""
    elapsed = p.elapsed_s if elapsed_s is None else max(p.elapsed_s, elapsed_s)
    parts = [f"[{format_duration(elapsed)}] {p.sweep_id}", counts_text(p), best_text(p, metric)]
    eta = eta_text(p, elapsed_s)
    if eta:
        parts.append(eta)
    if p.status != RUNNING:
        parts.append(p.status)
    return " · ".join(parts)


def render_rich(p: SweepProgress, metric: str | None = None, elapsed_s: float | None = None) -> Group:
    """Three short lines for a terminal (fit in 80 columns): bar, counts, best and time."""
    elapsed = p.elapsed_s if elapsed_s is None else max(p.elapsed_s, elapsed_s)
    head = Table.grid(padding=(0, 1))
    head.add_row(
        Text(p.sweep_id, style="bold", overflow="ellipsis", no_wrap=True),
        ProgressBar(total=max(p.budget, 1), completed=min(p.completed, max(p.budget, 1)), width=24),
        Text(f"{p.completed}/{p.budget} done", style="bold"),
    )
    counts = Text("  ")
    for i, (n, label, style) in enumerate(
        (
            (p.n_running, "running", "cyan"),
            (p.finished, "finished", "green"),
            (p.pruned, "pruned", "yellow"),
            (p.failed, "failed", "red"),
            (p.killed, "killed", "yellow"),
        )
    ):
        if label == "killed" and not n:
            continue
        if i:
            counts.append(" · ")
        counts.append(f"{n} {label}", style=style if n else "")
    tail = Text("  ")
    tail.append(best_text(p, metric), style="bold magenta")
    tail.append(f" · {format_duration(elapsed)} elapsed")
    eta = eta_text(p, elapsed_s)
    if eta:
        tail.append(f" · {eta}")
    if p.status != RUNNING:
        status_style = {"FINISHED": "bold green", "FAILED": "bold red", "KILLED": "bold yellow"}.get(p.status, "")
        tail.append(" · ")
        tail.append(p.status, style=status_style)
    return Group(head, counts, tail)


def new_errors(before: SweepProgress | None, after: SweepProgress) -> list[str]:
    """Failure lines (`trial 3: ValueError: ...`) that appeared between two snapshots."""
    seen = len(before.errors) if before is not None else 0
    return list(after.errors[seen:])


# -- plain output --------------------------------------------------------------------------


@dataclass
class PlainReporter:
    """Decides when to write a plain line: a trial ended, a failure, the end, or a quiet spell.

    Pure apart from its own memory of the last line, so tests drive it with a fake clock.
    """

    metric: str | None = None
    heartbeat_s: float = 10.0
    _last: SweepProgress | None = None
    _last_line_at: float | None = None
    _ended: bool = False
    _errors_told: int = 0  # failure lines written so far (the closing snapshot repeats them)

    def lines(self, p: SweepProgress, now: float) -> list[str]:
        """The lines to write for snapshot `p` received at clock time `now` (maybe none)."""
        if self._ended:
            return []
        out = [f"  failed: {line}" for line in p.errors[self._errors_told :]]
        self._errors_told = max(self._errors_told, len(p.errors))
        changed = self._last is None or p.completed != self._last.completed or p.status != self._last.status
        quiet = self._last_line_at is None or now - self._last_line_at >= self.heartbeat_s
        # All trials ended but the sweep is still closing: the final snapshot follows at once.
        closing = p.done and p.status == RUNNING
        self._last = p if not closing else self._last
        if (changed or quiet) and not closing:
            out.append(summary_line(p, self.metric))
            self._last_line_at = now
        if p.status != RUNNING:
            self._ended = True
        return out


# -- the live callback ---------------------------------------------------------------------


class _Ticking:
    """A rich renderable that redraws the latest snapshot with the clock still running."""

    def __init__(self, display: ProgressDisplay) -> None:
        self._display = display

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snapshot, received = self._display.latest
        if snapshot is None:
            yield Text("starting the sweep ...", style="dim")
            return
        ticking = snapshot.status == RUNNING and not snapshot.done
        elapsed = snapshot.elapsed_s + (self._display.clock() - received if ticking else 0.0)
        yield render_rich(snapshot, self._display.metric, elapsed)


class ProgressDisplay:
    """`progress=` callback for `sweeps.run`: rich Live on a terminal, plain lines otherwise.

    Use as a context manager so the live display is torn down even on Ctrl-C.
    """

    def __init__(
        self,
        *,
        metric: str | None = None,
        stream: TextIO | None = None,
        live: bool | None = None,
        heartbeat_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.metric = metric
        self.clock = clock
        self.live = _is_terminal(self.stream) if live is None else live
        self.latest: tuple[SweepProgress | None, float] = (None, clock())
        self._plain = PlainReporter(metric, heartbeat_s)
        self._previous: SweepProgress | None = None
        self._live: Live | None = None
        self.console = Console(file=self.stream, force_terminal=self.live, highlight=False, soft_wrap=True)

    @property
    def last(self) -> SweepProgress | None:
        """The latest snapshot received (None before the sweep started)."""
        return self.latest[0]

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            self._live = Live(_Ticking(self), console=self.console, refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.refresh()
            live.stop()

    def __call__(self, snapshot: SweepProgress) -> None:
        now = self.clock()
        self.latest = (snapshot, now)
        if self._live is not None:
            # Failures scroll above the live line, so none is lost when the line redraws.
            for line in new_errors(self._previous, snapshot):
                self._live.console.print(Text(f"failed: {line}", style="red"))
            self._live.refresh()
        else:
            for line in self._plain.lines(snapshot, now):
                self.stream.write(line + "\n")
            self.stream.flush()
        self._previous = snapshot


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or exotic streams: no terminal
        return False
