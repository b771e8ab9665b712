"""`history_window`: a sampler or pruner that sees only the study's last N finished trials.

Optuna's TPE sampler and median/percentile pruners read every finished trial at each ask or
report, so a long sweep slows down as it grows (benchmarks/scale.py measures it). With a window
their cost per trial stays flat; the running trials are always in view.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from sweeps.config.model import PrunerSpec, SamplerSpec

__all__ = ["WindowedPruner", "WindowedSampler", "storage_window"]


class _StudyView:
    """A study whose trial lists stop at its last `window` trials (plus older running ones)."""

    def __init__(self, study: optuna.Study, window: int) -> None:
        self._study = study
        self._window = window

    def __getattr__(self, name: str) -> object:
        return getattr(self._study, name)

    def _cut(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        if len(trials) <= self._window:
            return trials
        older = trials[: -self._window]
        return [t for t in older if t.state is TrialState.RUNNING] + trials[-self._window :]

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return self._cut(self._study.get_trials(deepcopy=deepcopy, states=states))

    def _get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None, use_cache: bool = False
    ) -> list[FrozenTrial]:
        return self._cut(self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache))

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


class WindowedSampler(optuna.samplers.BaseSampler):
    """`base`, sampling from the last `window` trials of the study only."""

    def __init__(self, base: optuna.samplers.BaseSampler, window: int) -> None:
        self.base = base
        self.window = window

    def _view(self, study: optuna.Study) -> optuna.Study:
        return _StudyView(study, self.window)  # type: ignore[return-value]

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(self._view(study), trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, object]:
        return self.base.sample_relative(self._view(study), trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> object:
        return self.base.sample_independent(self._view(study), trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


class WindowedPruner(optuna.pruners.BasePruner):
    """`base`, comparing a trial with the last `window` trials of the study only."""

    def __init__(self, base: optuna.pruners.BasePruner, window: int) -> None:
        self.base = base
        self.window = window
        # the driver skips asking before the warm-up step: keep the base's
        self._n_warmup_steps = getattr(base, "_n_warmup_steps", 0)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return self.base.prune(_StudyView(study, self.window), trial)  # type: ignore[arg-type]


# Samplers that read no trial history, so a window on the stored trials does not change them.
# Not grid (it reads the visited points) nor qmc (resume finds its place from the trials).
_HISTORY_FREE_SAMPLERS = frozenset({"random"})


def storage_window(sampler: SamplerSpec, pruner: PrunerSpec) -> int | None:
    """How many finished trials per state the driver's study must keep, or None for all of them.

    Only when every reader of the history is windowed (or reads none) can older trials go: the
    largest window then covers what any of them can see. The store keeps the whole history,
    which resume, the leaderboard and the best trial read.
    """
    windows = []
    for spec, free in ((sampler, sampler.name in _HISTORY_FREE_SAMPLERS), (pruner, pruner.name == "none")):
        if spec.history_window is not None:
            windows.append(spec.history_window)
        elif not free:
            return None
    return max(windows) if windows else None
