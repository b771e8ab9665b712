"""Parameter importances: Optuna's evaluators run on an in-memory study rebuilt from the stored trials."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from reports.optuna_storage import BulkStorage
from reports.space import param_value
from reports.sweep import Objective, objective_values
from tracking import Run, RunStatus

if TYPE_CHECKING:
    from optuna.importance import BaseImportanceEvaluator

EvaluatorName = Literal["auto", "fanova", "mdi", "ped-anova"]

# PED-ANOVA compares the top quantile with the rest: it needs some trials to have a top
# quantile at all; below this a random forest (MDI) says more. fANOVA is the most faithful
# but takes seconds per hundred trials, so "auto" never picks it.
_PED_ANOVA_MIN_TRIALS = 10
_EVALUATOR_LABELS = {"fanova": "fANOVA", "mdi": "mean decrease in impurity", "ped-anova": "PED-ANOVA"}


class ImportanceResult(NamedTuple):
    objective: str
    evaluator: str  # a label for people, empty when nothing was computed
    importances: tuple[tuple[str, float], ...]  # most important first
    message: str | None  # why there is nothing, or what was left out


def frozen_trials(
    trials: Sequence[Run], objectives: Sequence[Objective], space: Mapping[str, BaseDistribution]
) -> tuple[list[FrozenTrial], int]:
    """COMPLETE Optuna trials for the finished runs, and how many finished runs did not fit."""
    out, skipped = [], 0
    # Made directly, not by `optuna.trial.create_trial`: its per-trial conversion and checks of
    # distributions that `search_space` just built took 0.3 s for 10,000 trials. `param_value`
    # is the check that a stored value fits its distribution.
    when = datetime.now()
    for run in trials:
        if run.status != RunStatus.FINISHED:
            continue
        values = objective_values(run, tuple(objectives))
        if any(math.isnan(v) for v in values):
            continue
        try:
            params = {k: param_value(run.params[k], d) for k, d in space.items() if k in run.params}
        except ValueError:
            skipped += 1
            continue
        out.append(
            FrozenTrial(
                number=-1,
                state=TrialState.COMPLETE,
                value=None,
                values=list(values),
                datetime_start=when,
                datetime_complete=when,
                params=params,
                distributions={k: space[k] for k in params},
                user_attrs={},
                system_attrs={},
                intermediate_values={},
                trial_id=-1,
            )
        )
    return out, skipped


def build_study(
    trials: Sequence[Run], objectives: Sequence[Objective], space: Mapping[str, BaseDistribution]
) -> tuple[optuna.Study, int]:
    """An in-memory study holding the finished trials; also returns how many runs did not fit."""
    with _quiet():
        storage = BulkStorage()
        study = optuna.create_study(storage=storage, directions=[o.goal for o in objectives])
        frozen, skipped = frozen_trials(trials, objectives, space)
        storage.add_restored(study._study_id, frozen)  # no copy per trial: they were made for it
    return study, skipped


def param_importances(
    trials: Sequence[Run],
    objectives: Sequence[Objective],
    space: Mapping[str, BaseDistribution],
    evaluator: EvaluatorName = "auto",
) -> list[ImportanceResult]:
    """One result per objective; a result with a message instead of numbers when it cannot be computed."""
    study, skipped = build_study(trials, objectives, space)
    finished = len(study.get_trials(deepcopy=False))
    if finished < 2:
        note = f"needs at least 2 finished trials, this sweep has {finished}"
        return [ImportanceResult(o.name, "", (), note) for o in objectives]
    if not space:
        return [ImportanceResult(o.name, "", (), "no parameter took more than one value") for o in objectives]
    chosen = _choose(evaluator, finished)
    results = []
    for index, objective in enumerate(objectives):
        results.append(_one(study, index, objective, chosen, len(objectives) > 1, skipped))
    return results


def _choose(evaluator: EvaluatorName, finished: int) -> str:
    if evaluator != "auto":
        return evaluator
    return "ped-anova" if finished >= _PED_ANOVA_MIN_TRIALS else "mdi"


def _make(name: str) -> BaseImportanceEvaluator:
    # Here, not at the top: optuna.importance imports scikit-learn (seconds), and `sweeps show`
    # reads the leaderboard through this package without computing any importance.
    from optuna.importance import (
        FanovaImportanceEvaluator,
        MeanDecreaseImpurityImportanceEvaluator,
        PedAnovaImportanceEvaluator,
    )

    if name == "fanova":
        return FanovaImportanceEvaluator(n_trees=16, max_depth=8, seed=0)
    if name == "mdi":
        return MeanDecreaseImpurityImportanceEvaluator(seed=0)
    if name == "ped-anova":
        return PedAnovaImportanceEvaluator()
    raise ValueError(f"unknown importance evaluator {name!r}; use auto, fanova, mdi or ped-anova")


def _one(
    study: optuna.Study, index: int, objective: Objective, name: str, multi: bool, skipped: int
) -> ImportanceResult:
    target = (lambda t: t.values[index]) if multi else None
    notes = [f"{skipped} finished trial(s) left out: params outside the stored space"] if skipped else []
    # Fall back to the forest when the chosen evaluator cannot cope (e.g. PED-ANOVA on a
    # space where every trial ties); a report with a reason beats no report.
    from optuna.importance import get_param_importances

    for candidate in dict.fromkeys([name, "mdi"]):
        try:
            with _quiet():
                found = get_param_importances(study, evaluator=_make(candidate), target=target)
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError) as exc:
            notes.append(f"{_EVALUATOR_LABELS.get(candidate, candidate)} failed: {exc}")
            continue
        pairs = tuple((str(k), float(v)) for k, v in found.items())
        return ImportanceResult(objective.name, _EVALUATOR_LABELS[candidate], pairs, "; ".join(notes) or None)
    return ImportanceResult(objective.name, "", (), "; ".join(notes))


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Optuna's study-creation logs and experimental warnings for the block."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
