"""The sweep's Optuna study as the coordinator uses it: ask, suggest, report, prune, tell.

No locking of its own: the in-memory study is not thread-safe, so the coordinator calls it
under its lock. The store is not touched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from sweeps.config import SweepConfig, build_sampler, suggest_params
from sweeps.engine.live_trial import LiveTrial
from sweeps.engine.messages import PruningGate
from sweeps.engine.study import OPTUNA_STATE, new_study, pruning_gate, suggest, tell
from tracking.entities import RunStatus

__all__ = ["OptunaBridge"]


class OptunaBridge:
    """One sweep's study: hands out sampled params, feeds the pruner, records how trials ended."""

    def __init__(self, cfg: SweepConfig, study_name: str) -> None:
        self._cfg = cfg
        self.study = new_study(cfg, study_name)
        self._multi = cfg.is_multi_objective
        self.gate: PruningGate = pruning_gate(self.study.pruner, self._multi)
        # Optuna trials that are no trial of this sweep (warm-start ones, added first): a
        # sweep's trial number is the Optuna number less this.
        self.offset = 0

    def number(self, handle: optuna.Trial) -> int:
        """The sweep's trial number of an Optuna trial."""
        return handle.number - self.offset

    def continue_sequence(self, told: int) -> None:
        """After a resume put `told` trials in the study: a seeded sampler continues, never replays."""
        # Not the grid: its seed shuffles the grid itself, and the restored trials' grid ids
        # index that order; it never repeats a point anyway (it reads the visited ones).
        if told > 0 and self._cfg.sampler.seed is not None and self._cfg.sampler.name != "grid":
            self.study.sampler = build_sampler(self._cfg.sampler, self._cfg.parameters, told=told)
        if told > 1 and isinstance(self.study.sampler, optuna.samplers.QMCSampler):
            _advance_qmc(self.study, told - 1)

    def enqueue(self, params: Mapping[str, object], attrs: Mapping[str, str]) -> None:
        """A configuration to evaluate before sampling (params not given are sampled)."""
        self.study.enqueue_trial(dict(params), user_attrs=dict(attrs))

    @staticmethod
    def sweep_attrs(handle: optuna.Trial) -> dict[str, str]:
        """The `sweeps.*` tags an enqueued trial carries (why it was queued), for its run."""
        return {k: str(v) for k, v in handle.user_attrs.items() if k.startswith("sweeps.")}

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
            if live.group is not None:  # the pruner sees the repeats' mean, once each live one reported
                for done, mean in live.group.report(live.repeat, step, value):
                    if self.gate.enabled:
                        live.handle.report(mean, done)
                    else:
                        live.group.held[done] = mean
                continue
            if self.gate.enabled:
                live.handle.report(value, step)
            else:  # no pruner reads them: only a PRUNED tell needs them
                live.held_reports[step] = value

    def should_prune(self, live: LiveTrial) -> bool:
        if self._multi:
            return False
        group = live.group
        if group is None:
            return bool(live.handle.should_prune())
        if not group.pruned and group.told_steps and live.handle.should_prune():
            group.pruned = True  # every repeat of the configuration stops at its next report
        return group.pruned

    def best_candidate(
        self, live: LiveTrial, status: RunStatus, values: tuple[float, ...] | None
    ) -> tuple[float, int, str] | None:
        """(value, trial number, run id) a trial's end offers as the sweep's best, if any.

        With repeats, a configuration's mean once its last repeat ended, named by the repeat
        closest to the mean (whose model is the configuration's).
        """
        group = live.group
        if group is None:
            return (values[0], live.number, live.run_id) if status is RunStatus.FINISHED and values else None
        if group.told is None or group.told[0] is not RunStatus.FINISHED or group.told[1] is None:
            return None
        mean = group.told[1]
        number, run_id = group.closest(mean)
        return mean, number, run_id

    def tell(self, live: LiveTrial, status: RunStatus, values: tuple[float, ...] | None) -> tuple[TrialState, bool]:
        """Tell Optuna how the trial ended; returns (the state it recorded, whether the grid is used up)."""
        group = live.group
        if group is not None:
            value = values[0] if status is RunStatus.FINISHED and values else None
            if not group.ended(live.repeat, status, value):
                return OPTUNA_STATE[status], False  # the configuration is told once its last repeat ends
            outcome, mean = group.outcome()
            group.told = (outcome, mean)
            if outcome is RunStatus.PRUNED:
                for step, held in sorted(group.held.items()):
                    live.handle.report(held, step)
            _, exhausted = tell(self.study, live.handle, outcome, None if mean is None else (mean,))
            return OPTUNA_STATE[status], exhausted
        if status is RunStatus.PRUNED:  # Optuna takes a pruned trial's value from its reports
            for step, value in sorted(live.held_reports.items()):
                live.handle.report(value, step)
            live.held_reports.clear()
        return tell(self.study, live.handle, status, values)


def _advance_qmc(study: optuna.Study, used: int) -> None:
    """Move a QMC sampler past the `used` points of the restored trials.

    Its position in the sequence is a counter in the study's (in-memory) attributes, which a
    rebuilt study starts at zero: unscrambled, it would hand out the same points again. Every
    trial after the first took one point.
    """
    sampler = study.sampler
    trials = [t for t in study.get_trials(deepcopy=False) if t.state is TrialState.COMPLETE]
    find = getattr(sampler, "_find_sample_id", None)
    if not trials or find is None:
        return
    space = sampler.infer_relative_search_space(study, trials[-1])
    if space:
        for _ in range(used):
            find(study, space)
