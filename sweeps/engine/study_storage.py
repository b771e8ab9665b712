"""The driver's in-memory Optuna storage: restored trials added in bulk, old finished ones forgotten.

Optuna's `InMemoryStorage` deep-copies every trial it is given (seconds for a 20,000-trial
resume; `BulkStorage` does not) and keeps every finished trial for good (about 2 KB each). The
store holds the whole history, so with a `history_window` on every reader of it (see
`storage_window`) this storage keeps only what a windowed sampler or pruner can see: per finished
state the N highest-numbered trials, every waiting or running trial, and the best trial
(Optuna's best-trial cache reads it).
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Container, Sequence

from optuna.trial import FrozenTrial, TrialState

from reports.optuna_storage import BulkStorage

__all__ = ["SweepStorage"]


class SweepStorage(BulkStorage):
    """`BulkStorage` (restored trials added without copying) with, when `keep` is set, a window on finished trials.

    Trial numbers stay those of the whole study: a forgotten trial leaves a hole (`None`) in
    Optuna's list, so numbers and `len` of the list mean what they mean in Optuna.
    """

    def __init__(self, keep: int | None = None) -> None:
        super().__init__()
        self.keep = keep
        self._kept: dict[TrialState, list[int]] = {}  # per finished state: a min-heap of kept numbers
        self._best_outside: int | None = None  # the best's trial id, held past its window while it is best
        self.forgotten = 0

    # -- writes -----------------------------------------------------------------------------

    def _added(self, study_id: int, trial: FrozenTrial) -> None:
        if trial.state.is_finished():
            self._window(study_id, trial)

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        trial_id = super().create_new_trial(study_id, template_trial)
        if template_trial is not None and template_trial.state.is_finished():  # `study.add_trial`
            with self._lock:
                self._window(study_id, self._get_trial(trial_id))
        return trial_id

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        changed = super().set_trial_state_values(trial_id, state, values)
        if changed and state.is_finished():
            with self._lock:
                study_id = self._trial_id_to_study_id_and_number[trial_id][0]
                self._window(study_id, self._get_trial(trial_id))
        return changed

    def _window(self, study_id: int, trial: FrozenTrial) -> None:
        """Keep `trial`; forget the lowest-numbered trial of its state once more than `keep` are kept."""
        if self.keep is None:
            return
        heap = self._kept.setdefault(trial.state, [])
        heapq.heappush(heap, trial.number)
        if len(heap) > self.keep:
            self._forget(study_id, heapq.heappop(heap))
        held = self._best_outside
        if held is not None and held != self._studies[study_id].best_trial_id:
            self._best_outside = None  # replaced as the best: it goes the way of its window
            self._drop(study_id, held)

    def _forget(self, study_id: int, number: int) -> None:
        listed = self._studies[study_id].trials
        trial = listed[number]
        if trial is None:
            return
        if trial._trial_id == self._studies[study_id].best_trial_id:
            self._best_outside = trial._trial_id  # Optuna's best-trial cache compares each new one with it
            return
        self._drop(study_id, trial._trial_id)

    def _drop(self, study_id: int, trial_id: int) -> None:
        number = self._trial_id_to_study_id_and_number.pop(trial_id)[1]
        self._studies[study_id].trials[number] = None  # type: ignore[call-overload]
        self.forgotten += 1

    # -- reads ------------------------------------------------------------------------------

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        if not self.forgotten:
            return super().get_all_trials(study_id, deepcopy=deepcopy, states=states)
        with self._lock:
            self._check_study_id(study_id)
            trials = [
                t for t in self._studies[study_id].trials if t is not None and (states is None or t.state in states)
            ]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        with self._lock:
            listed = self._studies[study_id].trials if study_id in self._studies else []
            if 0 <= trial_number < len(listed) and listed[trial_number] is None:
                raise KeyError(f"trial {trial_number} is outside the history window; the store has it")
        return super().get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def numbered(self, study_id: int) -> int:
        """How many trials the study has numbered, forgotten ones included."""
        with self._lock:
            return len(self._studies[study_id].trials)
