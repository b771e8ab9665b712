"""With `history_window` on the sampler and pruner, the driver's study forgets finished trials no
windowed reader can see; what the readers see, the trial numbers, the best and resume stay the same."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.trial import TrialState, create_trial

import sweeps
from sweeps.config.model import PrunerSpec, SamplerSpec
from sweeps.config.windowed import _StudyView, storage_window
from sweeps.engine.study import add_restored, new_study, numbered
from sweeps.engine.study_restore import restore_study
from sweeps.engine.study_storage import SweepStorage
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store, sweep_config

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}, "y": {"type": "float", "low": -1.0, "high": 1.0}}
FILTERS = [None, (TrialState.COMPLETE,), (TrialState.PRUNED,), (TrialState.COMPLETE, TrialState.PRUNED)]


def _studies(keep: int) -> tuple[optuna.Study, optuna.Study]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(), optuna.create_study(storage=SweepStorage(keep=keep))


def _play(studies: tuple[optuna.Study, ...], n: int, seed: int) -> None:
    """The same asks and tells on each study: trials ending out of order, some pruned or failed."""
    rng = random.Random(seed)
    running: list[list[optuna.Trial]] = []
    for i in range(n):
        running.append([s.ask() for s in studies])
        reported = rng.random()
        for h in running[-1]:
            h.report(reported, 0)
        if len(running) > 2 or i == n - 1:
            while running:
                handles = running.pop(rng.randrange(len(running)))
                state = rng.choice([TrialState.COMPLETE] * 3 + [TrialState.PRUNED] * 3 + [TrialState.FAIL])
                value = rng.random()
                for study, handle in zip(studies, handles, strict=True):
                    study.tell(handle, value if state is TrialState.COMPLETE else None, state=state)
                if rng.random() < 0.5:
                    break


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_window_sees_the_same_trials_in_the_forgetting_storage(seed: int) -> None:
    full, windowed = _studies(keep=7)
    _play((full, windowed), 120, seed)
    assert windowed._storage.forgotten > 0  # type: ignore[attr-defined]
    for states in FILTERS:
        seen = _StudyView(full, 7).get_trials(deepcopy=False, states=states)
        kept = _StudyView(windowed, 7).get_trials(deepcopy=False, states=states)
        assert [(t.number, t.state, t.values) for t in kept] == [(t.number, t.state, t.values) for t in seen]
    # numbering, the count of numbered trials and the best trial are those of the whole study
    assert numbered(windowed) == len(full.trials) == 120
    assert windowed.best_trial.number == full.best_trial.number
    assert windowed.best_value == full.best_value
    assert windowed.ask().number == full.ask().number == 120


def test_the_best_is_kept_past_its_window_until_it_is_beaten() -> None:
    study = optuna.create_study(storage=SweepStorage(keep=2))
    for value in [0.0, 5.0, 6.0, 7.0]:  # trial 0 stays the best, long out of its window
        study.add_trial(create_trial(value=value))
    assert [t.number for t in study.trials] == [0, 2, 3]
    study.add_trial(create_trial(value=-1.0))  # beaten: the old best goes
    assert [t.number for t in study.trials] == [3, 4] and study.best_trial.number == 4
    with pytest.raises(KeyError, match="outside the history window"):
        study._storage.get_trial_id_from_study_id_trial_number(study._study_id, 0)


def test_restored_trials_go_in_without_copies_and_numbered_in_order() -> None:
    study = optuna.create_study(storage=SweepStorage(keep=None))
    trials = [create_trial(value=float(v)) for v in (3, 1, 2)] + [create_trial(state=TrialState.FAIL)]
    add_restored(study, trials)
    assert [t.number for t in study.get_trials(deepcopy=False)] == [0, 1, 2, 3]
    assert study.get_trials(deepcopy=False)[1] is trials[1] and study.best_trial.number == 1
    assert study.ask().number == 4


@pytest.mark.parametrize(
    ("sampler", "pruner", "keep"),
    [
        (SamplerSpec("tpe", history_window=50), PrunerSpec("median", history_window=80), 80),
        (SamplerSpec("tpe", history_window=50), PrunerSpec("none"), 50),
        (SamplerSpec("random"), PrunerSpec("median", history_window=30), 30),
        (SamplerSpec("tpe", history_window=50), PrunerSpec("median"), None),  # the pruner reads it all
        (SamplerSpec("tpe"), PrunerSpec("median", history_window=30), None),  # the sampler reads it all
        (SamplerSpec("grid"), PrunerSpec("none"), None),  # the grid reads every visited point
        (SamplerSpec("random"), PrunerSpec("none"), None),  # no window asked for
    ],
)
def test_the_study_forgets_only_when_every_reader_is_windowed(
    sampler: SamplerSpec, pruner: PrunerSpec, keep: int | None
) -> None:
    assert storage_window(sampler, pruner) == keep


def test_a_windowed_sweep_resumes_from_the_whole_store_and_ranks_over_it(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=24, backend="local", parameters=SPACE)
    config["sampler"] = {"name": "tpe", "seed": 3, "n_startup_trials": 4, "history_window": 4}
    config["pruner"] = {"name": "median", "n_startup_trials": 2, "history_window": 4}
    first = sweeps.run(config, store=place.store, no_report=True)
    resumed = sweeps.resume(first.sweep_id, store=place.store, no_report=True, overrides=["budget.trials=40"])
    assert resumed.n_trials == 40
    with place.client() as client:
        runs = check_store(client, resumed, metric="loss")
        board = sweeps.engine.leaderboard(client, resumed.sweep_id, top_k=1)
    assert len(runs) == 40
    seen = [tuple(r.params[k] for k in SPACE) for r in runs]
    assert len(set(seen)) == 40  # the resumed sampler continued, it did not replay
    assert resumed.best is not None and board["run_id"][0] == resumed.best.run_id  # the best over all 40


def test_a_windowed_restore_gives_the_window_what_a_full_restore_gives(place: SweepPlace) -> None:
    config = sweep_config("xy", place.artifacts, trials=30, backend="local", parameters=SPACE)
    config["sampler"] = {"name": "tpe", "seed": 1, "n_startup_trials": 4, "history_window": 5}
    config["pruner"] = {"name": "median", "n_startup_trials": 2, "history_window": 5}
    result = sweeps.run(config, store=place.store, no_report=True)
    whole = {**config, "sampler": {"name": "tpe", "seed": 1}, "pruner": {"name": "median"}}
    with place.client() as client:
        parent = client.get_run(result.parent_run_id)
        studies, restored = [], []
        for cfg in (sweeps.load_config(config), sweeps.load_config(whole)):
            study = new_study(cfg, "restored")
            restored.append(restore_study(client, study, cfg, parent))
            studies.append(study)
    windowed, full = studies
    assert windowed._storage.forgotten > 0 and full._storage.forgotten == 0  # type: ignore[attr-defined]
    for states in FILTERS:
        kept = _StudyView(windowed, 5).get_trials(deepcopy=False, states=states)
        seen = _StudyView(full, 5).get_trials(deepcopy=False, states=states)
        assert [(t.number, t.state, t.values, t.params, t.intermediate_values) for t in kept] == [
            (t.number, t.state, t.values, t.params, t.intermediate_values) for t in seen
        ]
    assert restored[0].best == restored[1].best and restored[0].counts == restored[1].counts
    assert windowed.best_trial.params == full.best_trial.params and numbered(windowed) == numbered(full) == 30
