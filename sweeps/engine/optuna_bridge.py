"""The sweep's Optuna study as the coordinator uses it: ask, suggest, report, prune, tell.

No locking of its own: the in-memory study is not thread-safe, so the coordinator calls it
under its lock. The store is not touched here.
"""

from __future__ import annotations

from collections.abc import Iterable

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from sweeps.config import SweepConfig, suggest_params
from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.messages import PruningGate
from sweeps.engine.study import new_study, pruning_gate, suggest, tell
from tracking.entities import RunStatus

__all__ = ["OptunaBridge"]


class OptunaBridge:
    """One sweep's study: hands out sampled params, feeds the pruner, records how trials ended."""

    def __init__(self, cfg: SweepConfig, study_name: str) -> None:
        self._cfg = cfg
        self.study = new_study(cfg, study_name)
        self._multi = cfg.is_multi_objective
        self.gate: PruningGate = pruning_gate(self.study.pruner, self._multi)

    def ask(self) -> tuple[optuna.Trial, dict[str, object]]:
        """A new Optuna trial and the config's params sampled on it."""
        handle = self.study.ask()
        try:
            params = suggest_params(handle, self._cfg.parameters)
        except Exception:
            self.abandon(handle)
            raise
        return handle, params

    def grid_taken(self) -> bool:
        """Grid sampler only: every point is finished or running, so another ask would repeat one.

        Optuna's GridSampler hands out a running point again once none is left unstarted; a
        sweep must not run a configuration twice, so it stops launching instead.
        """
        sampler = self.study.sampler
        if not isinstance(sampler, optuna.samplers.GridSampler):
            return False
        taken = {
            t.system_attrs.get("grid_id")
            for t in self.study.get_trials(deepcopy=False)
            if t.state.is_finished() or t.state is TrialState.RUNNING
        }
        return taken.issuperset(range(len(sampler._all_grids)))

    def abandon(self, handle: optuna.Trial) -> None:
        """A trial that never got a run (its params or its run could not be made): FAIL in Optuna only."""
        self.study.tell(handle, state=TrialState.FAIL)

    def suggest(self, live: LiveTrial, name: str, distribution: BaseDistribution) -> object:
        """Define-by-run: sample `name`; a new param is remembered to be stored with the trial's end."""
        value = suggest(live.handle, name, distribution)
        if name not in live.params:
            live.params[name] = value
            live.distributions[name] = distribution
            live.new_params[name] = value
        return value

    def report(self, live: LiveTrial, reports: Iterable[tuple[int, float]]) -> None:
        """Intermediate (step, value) pairs; their points travel in the trial's block, not here."""
        if self._multi:  # Optuna takes no reports for several objectives
            return
        for step, value in reports:
            # A retried attempt reports its steps again; Optuna keeps the first value.
            if step in live.reported_steps:
                continue
            live.reported_steps.add(step)
            if self.gate.enabled:
                live.handle.report(value, step)
            else:  # no pruner reads them: only a PRUNED tell needs them
                live.held_reports[step] = value

    def should_prune(self, live: LiveTrial) -> bool:
        return not self._multi and bool(live.handle.should_prune())

    def tell(self, live: LiveTrial, status: RunStatus, values: tuple[float, ...] | None) -> tuple[TrialState, bool]:
        """Tell Optuna how the trial ended; returns (the state it recorded, whether the grid is used up)."""
        if status is RunStatus.PRUNED:  # Optuna takes a pruned trial's value from its reports
            for step, value in sorted(live.held_reports.items()):
                live.handle.report(value, step)
            live.held_reports.clear()
        return tell(self.study, live.handle, status, values)
