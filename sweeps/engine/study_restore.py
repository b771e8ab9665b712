"""Rebuild a sweep's in-memory Optuna study from its child runs, for `sweeps resume`.

The store is the sweep's only persistent state: each child run holds its trial number,
params, distributions (tag `sweeps.distributions`), status, objective values and the
reported intermediate values, which is all Optuna needs to continue where it stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution, json_to_distribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from sweeps.config import SweepConfig
from sweeps.engine.queue_tags import ENQUEUED, RERUN_OF
from sweeps.engine.study import OPTUNA_STATE, add_restored, window_of
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run, RunStatus
from tracking.sweep_layout import (
    DISTRIBUTIONS,
    INTERMEDIATE_PREFIX,
    OBJECTIVE_PREFIX,
    TRIAL_NUMBER,
    Goal,
    best_key,
    is_better,
)
from tracking.validation import param_text

__all__ = [
    "CRASHED_ERROR",
    "INTERMEDIATE_PREFIX",
    "OBJECTIVE_PREFIX",
    "Restored",
    "frozen_trial",
    "restore_study",
    "stored_distributions",
    "trial_state",
]

log = logging.getLogger(__name__)

CRASHED_ERROR = "driver stopped before the trial finished"


@dataclass
class Restored:
    """What the resumed sweep already has: trials started, final statuses, the best so far.

    `uncounted`: trials a crashed driver left RUNNING (closed FAILED), which the budget does not
    count (it means finished work); `rerun`: those of them not re-run yet, with their params.
    """

    started: int = 0
    counts: dict[RunStatus, int] = field(default_factory=dict)
    best: tuple[float, int, str] | None = None  # (value, number, run id)
    uncounted: int = 0
    rerun: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    enqueued_started: set[int] = field(default_factory=set)  # `enqueue:` entries that already have a run
    groups: int | None = None  # `repeats:`: configurations stored
    next_number: int = 0  # the next trial number to hand out


def restore_study(client: TrackingClient, study: optuna.Study, cfg: SweepConfig, parent: Run) -> Restored:
    """Add every stored trial to `study` (numbers kept), closing RUNNING leftovers as FAILED."""
    by_number: dict[int, Run] = {}
    for run in client.child_runs(parent.run_id):
        number = _number(run)
        if number is not None and number not in by_number:
            by_number[number] = run
    stale = [r for r in by_number.values() if r.status is RunStatus.RUNNING]
    for run in stale:
        client.end_run(run.run_id, RunStatus.FAILED, CRASHED_ERROR)
    if stale:
        refreshed = {r.run_id: r for r in client.get_runs([r.run_id for r in stale])}
        by_number = {n: refreshed.get(r.run_id, r) for n, r in by_number.items()}
    key = layout.intermediate_key(cfg.metric.name)
    restored = Restored(started=len(by_number))
    rerun_done = {_int_tag(r, RERUN_OF) for r in by_number.values()}
    restored.enqueued_started = {n for n in (_int_tag(r, ENQUEUED) for r in by_number.values()) if n is not None}
    restored.next_number = max(by_number, default=-1) + 1
    if cfg.repeats is not None:
        from sweeps.engine.groups_restore import restore_groups

        restore_groups(study, cfg, by_number, _histories(client, cfg, by_number.values(), key), restored)
        return restored
    grid = isinstance(study.sampler, optuna.samplers.GridSampler)
    goal: Goal = cfg.metric.goal  # type: ignore[assignment]
    states = {number: trial_state(run, cfg) for number, run in by_number.items()}
    for number, run in sorted(by_number.items()):
        restored.counts[run.status] = restored.counts.get(run.status, 0) + 1
        if states[number] is TrialState.COMPLETE:
            candidate = (run.metrics[layout.objective_key(cfg.metric.name)].last, number, run.run_id)
            incumbent = None if restored.best is None else best_key(*_with_goal(restored.best, goal))
            if is_better(best_key(*_with_goal(candidate, goal)), incumbent):
                restored.best = candidate
    # With a history window the study forgets at once what no windowed reader sees: those
    # trials go in as bare records of their state (no params, no metric history read).
    full = _in_window(states, window_of(study), restored.best)
    wanted = by_number.values() if full is None else [by_number[n] for n in full]
    histories = _histories(client, cfg, wanted, key)
    trials: list[FrozenTrial] = []
    parsed: dict[str, dict[str, BaseDistribution]] = {}  # tag text -> distributions: most trials share one
    for number in range(restored.next_number):
        run = by_number.get(number)
        if run is None:
            # A number asked for but never turned into a run (crash in between): a FAIL
            # placeholder keeps Optuna's numbering equal to the stored trial numbers.
            trials.append(create_trial(state=TrialState.FAIL))
            continue
        crashed = run.status is RunStatus.FAILED and run.error == CRASHED_ERROR
        if full is not None and number not in full and not crashed:
            trials.append(_bare(states[number], run, cfg))
            continue
        intermediate = {m.step: m.value for m in histories.get(run.run_id, {}).get(key, [])}
        frozen = frozen_trial(run, cfg, intermediate, None if crashed else study.sampler, parsed)
        if crashed:
            restored.uncounted += 1
            # The grid walks an unvisited point again by itself (its id is left off above);
            # other samplers get the crashed params queued.
            if number not in rerun_done and not grid:
                restored.rerun.append((number, dict(frozen.params)))
        trials.append(frozen)
    add_restored(study, trials)  # in one go: Optuna's add_trial deep-copies each one
    return restored


def _histories(
    client: TrackingClient, cfg: SweepConfig, runs: Iterable[Run], key: str
) -> Mapping[str, Mapping[str, list]]:
    ids = [r.run_id for r in runs]
    if cfg.is_multi_objective or not ids:
        return {}
    return client.metric_histories(ids, [key])


def _in_window(
    states: Mapping[int, TrialState], window: int | None, best: tuple[float, int, str] | None
) -> set[int] | None:
    """The trial numbers a study with `window` keeps (per state the `window` highest, and the best)."""
    if window is None:
        return None
    by_state: dict[TrialState, list[int]] = {}
    for number in sorted(states):
        by_state.setdefault(states[number], []).append(number)
    kept = {n for numbers in by_state.values() for n in numbers[-window:]}
    return kept | ({best[1]} if best is not None else set())


def _bare(state: TrialState, run: Run, cfg: SweepConfig) -> FrozenTrial:
    """A trial the window forgets as soon as it is added: its state and objective values only."""
    values = None
    if state is TrialState.COMPLETE:
        values = [run.metrics[layout.objective_key(m.name)].last for m in cfg.metrics]
    return create_trial(state=state, values=values)


def _with_goal(best: tuple[float, int, str], goal: Goal) -> tuple[float, Goal, int, str]:
    value, number, run_id = best
    return value, goal, number, run_id


def _number(run: Run) -> int | None:
    return _int_tag(run, TRIAL_NUMBER)


def _int_tag(run: Run, key: str) -> int | None:
    text = run.tags.get(key)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def frozen_trial(
    run: Run,
    cfg: SweepConfig,
    intermediate: dict[int, float],
    sampler: optuna.samplers.BaseSampler | None,
    parsed: dict[str, dict[str, BaseDistribution]] | None = None,
) -> FrozenTrial:
    """The Optuna record of a stored trial (`sampler`: the grid's, to mark its point visited).

    `parsed`: distributions already read, by tag text (shared, never changed: Optuna copies
    a trial's distributions before it changes any).
    """
    text = run.tags.get(DISTRIBUTIONS) or ""
    distributions = parsed.get(text) if parsed is not None else None
    if distributions is None:
        distributions = stored_distributions(run)
        if parsed is not None:
            parsed[text] = distributions
    params = {}
    for name, dist in distributions.items():
        text = run.params.get(name)
        if text is not None:
            value = _decode(name, text, dist)
            if value is not _MISSING:
                params[name] = value
    distributions = {k: d for k, d in distributions.items() if k in params}
    keys = [layout.objective_key(m.name) for m in cfg.metrics]
    values = [run.metrics[k].last for k in keys if k in run.metrics]
    state = trial_state(run, cfg)
    if state is TrialState.PRUNED:
        last = intermediate[max(intermediate)] if intermediate else None
        values = [last] if last is not None else []
    return create_trial(
        state=state,
        values=values if state in (TrialState.COMPLETE, TrialState.PRUNED) and values else None,
        params=params,
        distributions=distributions,
        intermediate_values=intermediate if not cfg.is_multi_objective else None,
        system_attrs=_grid_attrs(sampler, params),
    )


def trial_state(run: Run, cfg: SweepConfig) -> TrialState:
    """The Optuna state of a stored trial (a finished one without its objective values: FAIL)."""
    state = OPTUNA_STATE.get(run.status, TrialState.FAIL)
    if state is TrialState.COMPLETE and any(layout.objective_key(m.name) not in run.metrics for m in cfg.metrics):
        return TrialState.FAIL  # unusable for the sampler
    return state


def stored_distributions(run: Run) -> dict[str, BaseDistribution]:
    """The run's `sweeps.distributions` tag read back ({} when absent; a warning when unreadable)."""
    text = run.tags.get(DISTRIBUTIONS)
    if not text:
        return {}
    try:
        raw = json.loads(text)
        return {name: json_to_distribution(json.dumps(d)) for name, d in raw.items()}
    except (ValueError, TypeError, KeyError) as exc:
        log.warning(
            "run %s: unreadable %s tag (%s); its params are not restored", run.run_id, layout.DISTRIBUTIONS, exc
        )
        return {}


_MISSING = object()


def _decode(name: str, text: str, dist: BaseDistribution) -> object:
    """A stored param text back to the value Optuna sampled (None when it no longer fits)."""
    try:
        if isinstance(dist, CategoricalDistribution):
            for choice in dist.choices:
                if param_text(name, choice) == text:
                    return choice
            return _MISSING
        return int(text) if isinstance(dist, IntDistribution) else float(text)
    except (ValueError, TypeError):
        return _MISSING


def _grid_attrs(sampler: optuna.samplers.BaseSampler | None, params: Mapping[str, object]) -> dict[str, object] | None:
    # GridSampler knows visited points by system attributes it set when sampling; restored
    # trials need them too or the grid would be walked again from the start.
    if not isinstance(sampler, optuna.samplers.GridSampler) or not params:
        return None
    try:
        point = tuple(params.get(n) for n in sampler._param_names)
        return {"search_space": sampler._search_space, "grid_id": sampler._all_grids.index(point)}
    except (AttributeError, ValueError):
        return None
