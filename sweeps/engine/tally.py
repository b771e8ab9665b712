"""A sweep's running score: trials by outcome, failures, the best trial, the final status.

Plain bookkeeping with no locking of its own: the coordinator holds its lock around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracking.entities import RunStatus
from tracking.error_text import error_summary
from tracking.sweep_layout import Goal, best_key, is_better

__all__ = ["Tally"]

MAX_LISTED_ERRORS = 10


@dataclass
class Tally:
    """Counts of the sweep's trials (restored ones included) and of this session's."""

    maximize: bool
    started: int = 0
    finished: int = 0
    pruned: int = 0
    failed: int = 0
    killed: int = 0
    session_completed: int = 0
    session_failed: int = 0
    errors: list[str] = field(default_factory=list)  # "trial 3: ValueError: ..."
    first_error: str | None = None  # the first failure's full text
    best: tuple[float, int, str] | None = None  # (value, trial number, run id)
    uncounted: int = 0  # trials a crashed driver left running: started, but no work the budget counts
    groups: int | None = None  # `repeats:`: configurations started (the budget counts these)

    @property
    def counted(self) -> int:
        """What the budget counts (SPEC §2: finished work; a crash's leftovers are re-run instead).

        With repeats, configurations, each of several runs.
        """
        return self.groups if self.groups is not None else self.started - self.uncounted

    def reached(self, target: float | None) -> bool:
        """Whether the best value so far reaches `target` (>= when maximizing, <= when minimizing)."""
        if target is None or self.best is None:
            return False
        return self.best[0] >= target if self.maximize else self.best[0] <= target

    def count(self, status: RunStatus, n: int = 1) -> None:
        attr = {"FINISHED": "finished", "PRUNED": "pruned", "FAILED": "failed", "KILLED": "killed"}[status.value]
        setattr(self, attr, getattr(self, attr) + n)

    def ended(self, number: int, status: RunStatus, error: str | None, output_tail: str | None = None) -> None:
        """Count a trial of this session that just ended (a failed one's last lines of output go with its error)."""
        self.count(status)
        self.session_completed += 1
        if status is RunStatus.FAILED:
            self.session_failed += 1
            last = output_tail.splitlines()[-1] if output_tail else None
            said = f" (its output ended: {last[:120]})" if last else ""
            self.errors.append(f"trial {number}: {error_summary(error) or 'unknown error'}{said}")
            if self.first_error is None:
                shown = f"\n--- the last lines of its output ---\n{output_tail}" if output_tail else ""
                self.first_error = f"trial {number}:\n{error or 'unknown error'}{shown}"

    def improve(self, value: float, number: int, run_id: str) -> bool:
        """Record a finished trial's value; True when it is the new best (`best_key`: ties go to the lower number)."""
        goal: Goal = "maximize" if self.maximize else "minimize"
        incumbent = None if self.best is None else best_key(self.best[0], goal, self.best[1], self.best[2])
        if not is_better(best_key(value, goal, number, run_id), incumbent):
            return False
        self.best = (value, number, run_id)
        return True

    def final_status(self, *, interrupted: bool, fatal: str | None) -> tuple[RunStatus, str | None]:
        """The parent run's end: KILLED on Ctrl-C, FAILED when stopped or when every trial failed."""
        summary = "; ".join(self.errors[:MAX_LISTED_ERRORS])
        if len(self.errors) > MAX_LISTED_ERRORS:
            summary += f"; ... {len(self.errors) - MAX_LISTED_ERRORS} more"
        if interrupted:
            return RunStatus.KILLED, "interrupted (Ctrl-C)"
        if fatal is not None:
            return RunStatus.FAILED, fatal + (f": {summary}" if summary else "")
        if self.started > 0 and self.finished + self.pruned == 0:
            return RunStatus.FAILED, f"every trial failed: {summary}" if summary else "every trial failed"
        return RunStatus.FINISHED, None
