"""Resume with `repeats:`: one Optuna trial per stored configuration, told the mean of its repeats.

A configuration a crash cut short keeps what it has: its finished repeats give its mean (its
crashed ones are closed FAILED and not run again, since the group's Optuna trial is told already).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import optuna
from optuna.trial import TrialState, create_trial

from sweeps.config import SweepConfig
from sweeps.engine.queue_tags import GROUP
from sweeps.engine.study import add_restored
from sweeps.engine.study_restore import Restored, frozen_trial
from tracking import sweep_layout as layout
from tracking.entities import Run, RunStatus
from tracking.sweep_layout import Goal, best_key, is_better

__all__ = ["restore_groups"]


def restore_groups(
    study: optuna.Study,
    cfg: SweepConfig,
    by_number: Mapping[int, Run],
    histories: Mapping[str, Mapping[str, list]],
    restored: Restored,
) -> None:
    """Add one trial per stored configuration to `study`; fills `restored`'s counts, groups and best."""
    groups: dict[int, list[tuple[int, Run]]] = {}
    for number in sorted(by_number):
        run = by_number[number]
        restored.counts[run.status] = restored.counts.get(run.status, 0) + 1
        group = run.tags.get(GROUP, str(number))
        groups.setdefault(int(group) if group.isdigit() else number, []).append((number, run))
    restored.groups = len(groups)
    key = layout.intermediate_key(cfg.metric.name)
    objective = layout.objective_key(cfg.metric.name)
    goal: Goal = cfg.metric.goal  # type: ignore[assignment]
    trials: list[optuna.trial.FrozenTrial] = []
    for members in groups.values():
        finished = [
            (run.metrics[objective].last, number, run)
            for number, run in members
            if run.status is RunStatus.FINISHED and objective in run.metrics
        ]
        steps: dict[int, list[float]] = {}
        for _, run in members:
            for point in histories.get(run.run_id, {}).get(key, []):
                steps.setdefault(point.step, []).append(point.value)
        intermediate = {step: statistics.fmean(values) for step, values in steps.items()}
        first = frozen_trial(members[0][1], cfg, {}, None)
        pruned = any(run.status is RunStatus.PRUNED for _, run in members)
        if pruned or not finished:
            state = TrialState.PRUNED if pruned and intermediate else TrialState.FAIL
            last = [intermediate[max(intermediate)]] if state is TrialState.PRUNED else None
            trials.append(_trial(state, last, first, intermediate))
            continue
        mean = statistics.fmean(v for v, _, _ in finished)
        trials.append(_trial(TrialState.COMPLETE, [mean], first, intermediate))
        _, number, run = min(finished, key=lambda f: abs(f[0] - mean))
        incumbent = None if restored.best is None else best_key(restored.best[0], goal, *restored.best[1:])
        if is_better(best_key(mean, goal, number, run.run_id), incumbent):
            restored.best = (mean, number, run.run_id)
    add_restored(study, trials)


def _trial(
    state: TrialState, values: list[float] | None, first: optuna.trial.FrozenTrial, intermediate: dict[int, float]
) -> optuna.trial.FrozenTrial:
    return create_trial(
        state=state,
        values=values,
        params=first.params,
        distributions=first.distributions,
        intermediate_values=intermediate,
    )
