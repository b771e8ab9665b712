"""Glue between the coordinator and Optuna: the in-memory study, telling it results, suggesting."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)
from optuna.trial import FrozenTrial, TrialState

from sweeps.config import SweepConfig, build_pruner, build_sampler
from sweeps.config.windowed import storage_window
from sweeps.engine.messages import PruningGate
from sweeps.engine.study_storage import SweepStorage
from sweeps.errors import SweepsError
from tracking.entities import RunStatus

__all__ = [
    "OPTUNA_STATE",
    "add_restored",
    "distributions_json",
    "new_study",
    "numbered",
    "pruning_gate",
    "suggest",
    "tell",
    "window_of",
]

OPTUNA_STATE = {
    RunStatus.FINISHED: TrialState.COMPLETE,
    RunStatus.PRUNED: TrialState.PRUNED,
    RunStatus.FAILED: TrialState.FAIL,
    RunStatus.KILLED: TrialState.FAIL,  # Optuna has no "killed"; FAIL keeps samplers away from it
}


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    # "A new study created in memory" is noise in a sweep's output.
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def new_study(cfg: SweepConfig, name: str) -> optuna.Study:
    """An in-memory study with the config's sampler, pruner and directions.

    In memory on purpose: the store is the persistent record, and resume rebuilds the study
    from it, so no Optuna storage sits on the hot path. With a `history_window` on every reader
    of the history, the study forgets the finished trials no reader can see (`SweepStorage`).
    """
    with _quiet_optuna():
        return optuna.create_study(
            storage=SweepStorage(keep=storage_window(cfg.sampler, cfg.pruner)),
            study_name=name,
            sampler=build_sampler(cfg.sampler, cfg.parameters),
            pruner=build_pruner(cfg.pruner),
            directions=list(cfg.directions),
        )


def pruning_gate(pruner: optuna.pruners.BasePruner, multi: bool) -> PruningGate:
    """Which reports need the pruner's answer (see `PruningGate`)."""
    if multi or isinstance(pruner, optuna.pruners.NopPruner):
        return PruningGate(enabled=False)
    # Percentile/median and threshold pruners never prune before their warm-up step.
    warmup = getattr(pruner, "_n_warmup_steps", 0)
    return PruningGate(enabled=True, warmup_steps=warmup if isinstance(warmup, int) else 0)


def tell(
    study: optuna.Study, handle: optuna.Trial, status: RunStatus, values: Sequence[float] | None
) -> tuple[TrialState, bool]:
    """Tell Optuna how a trial ended; returns (the state it recorded, whether the grid is used up)."""
    state = OPTUNA_STATE[status]
    told = list(values) if state is TrialState.COMPLETE and values else None
    try:
        return study.tell(handle, told, state=state, skip_if_finished=True).state, False
    except RuntimeError as exc:
        # GridSampler calls study.stop() once every grid point is taken, which Optuna only
        # allows inside optimize(); the trial is recorded before that, so stop launching.
        if "Study.stop" not in str(exc):
            raise
        return study.get_trials(deepcopy=False)[handle.number].state, True


def suggest(handle: optuna.Trial, name: str, distribution: BaseDistribution) -> object:
    """Define-by-run: sample `name` on the live Optuna trial."""
    d = distribution
    if isinstance(d, FloatDistribution):
        return handle.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
    if isinstance(d, IntDistribution):
        return handle.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
    if isinstance(d, CategoricalDistribution):
        return handle.suggest_categorical(name, d.choices)
    raise SweepsError(f"cannot suggest {name!r} from a {type(d).__name__}")


def distributions_json(distributions: Mapping[str, BaseDistribution]) -> str:
    """The `sweeps.distributions` tag: each param's Optuna distribution, for resume."""
    return json.dumps({k: json.loads(distribution_to_json(d)) for k, d in distributions.items()}, sort_keys=True)


def add_restored(study: optuna.Study, trials: Sequence[FrozenTrial]) -> None:
    """Add stored trials to a study of `new_study` in one go (no per-trial deep copy)."""
    storage = study._storage
    if isinstance(storage, SweepStorage):
        storage.add_restored(study._study_id, trials)
    else:
        study.add_trials(trials)


def numbered(study: optuna.Study) -> int:
    """How many trials the study has numbered, those a history window forgot included."""
    storage = study._storage
    if isinstance(storage, SweepStorage):
        return storage.numbered(study._study_id)
    return len(study.get_trials(deepcopy=False))


def window_of(study: optuna.Study) -> int | None:
    """How many finished trials per state the study keeps (None: all of them)."""
    storage = study._storage
    return storage.keep if isinstance(storage, SweepStorage) else None
