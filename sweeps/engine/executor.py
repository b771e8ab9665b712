"""Run one attempt of one trial: call the objective, turn what happened into a `TrialOutcome`.

Shared by both backends (the local loop and the Ray worker), so an objective behaves the
same under `backend: local` and `backend: ray`.
"""

from __future__ import annotations

import math
import numbers
import traceback
from collections.abc import Callable, Mapping, Sequence

import optuna

from sweeps.engine.messages import TrialAssignment, TrialOutcome
from sweeps.engine.output_capture import capture_output
from sweeps.trial import Trial, TrialChannel

__all__ = ["Objective", "objective_values", "run_trial"]

Objective = Callable[[Trial], object]


def run_trial(objective: Objective, assignment: TrialAssignment, channel: TrialChannel) -> TrialOutcome:
    """Run the objective on a fresh `Trial`; exceptions become FAILED, `TrialPruned` PRUNED."""
    trial = Trial(assignment, channel)
    number, attempt = assignment.number, assignment.attempt
    with capture_output() as captured:  # its bytes travel with the outcome: workers never open the store
        try:
            result = trial.run_objective(objective)
            values = objective_values(result, assignment.metric_names, trial)
        except optuna.TrialPruned:
            pruned = trial.final_outbox(pruned=True)
            return TrialOutcome(number, attempt, "pruned", outbox=pruned, output=captured.data())
        except (Exception, SystemExit) as exc:
            # SystemExit too: an objective calling sys.exit() must not end the worker silently.
            error = "".join(traceback.format_exception(exc))
            outbox = trial.take_outbox()
            return TrialOutcome(number, attempt, "failed", error=error, outbox=outbox, output=captured.data())
    outbox = trial.final_outbox(values)  # the values travel as `objective.<metric>` points too
    return TrialOutcome(number, attempt, "complete", values=values, outbox=outbox, output=captured.data())


def objective_values(result: object, names: Sequence[str], trial: Trial) -> tuple[float, ...]:
    """The objective's value(s) in metric order, from a number, a dict, a sequence or None.

    `None` means "use the last value the trial logged for each metric", so an objective that
    logs its metric can end with a bare `return`.
    """
    if result is None:
        values = []
        for name in names:
            last = trial.last_logged(name)
            if last is None:
                raise ValueError(
                    f"the objective returned None and never logged the metric {name!r}; "
                    f"return its value (or a dict of {', '.join(map(repr, names))}) or log it"
                )
            values.append(last)
        return _checked(values, names)
    if isinstance(result, Mapping):
        missing = [n for n in names if n not in result]
        if missing:
            raise ValueError(
                f"the objective returned a dict without {', '.join(map(repr, missing))}; "
                f"it has {', '.join(map(repr, list(result)[:10])) or 'no keys'}"
            )
        return _checked([result[n] for n in names], names)
    if _is_number(result):
        if len(names) != 1:
            raise ValueError(
                f"the objective returned one number but the sweep optimizes {len(names)} metrics; "
                f"return a dict of {', '.join(map(repr, names))}"
            )
        return _checked([result], names)
    if isinstance(result, Sequence) and not isinstance(result, str | bytes) and len(result) == len(names):
        return _checked(list(result), names)
    raise ValueError(
        f"the objective returned {type(result).__name__} {result!r:.80}; "
        f"expected a number or a dict of {', '.join(map(repr, names))}"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _checked(values: list[object], names: Sequence[str]) -> tuple[float, ...]:
    out = []
    for name, value in zip(names, values, strict=True):
        if not _is_number(value):
            kind = type(value).__name__
            raise ValueError(f"the objective's value for {name!r} is {kind} {value!r:.80}, not a number")
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            raise ValueError(f"the objective's value for {name!r} is NaN")
        out.append(number)
    return tuple(out)
