"""`BulkStorage`: trials added in bulk make the same study as Optuna's own `add_trials`, uncopied."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, create_trial

from reports.optuna_storage import BulkStorage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _trials() -> list[FrozenTrial]:
    space = {"x": FloatDistribution(-5, 5)}
    return [create_trial(params={"x": x}, distributions=space, value=(x - 1) ** 2) for x in (3.0, -2.0, 1.5, 0.5)]


def test_bulk_added_trials_make_the_study_add_trials_makes_and_sampling_goes_on() -> None:
    storage = BulkStorage()
    bulk = optuna.create_study(storage=storage)
    added = _trials()
    storage.add_restored(bulk._study_id, added)
    plain = optuna.create_study()
    plain.add_trials(_trials())

    def seen(study: optuna.Study) -> list[tuple[int, dict[str, object], float | None]]:
        return [(t.number, t.params, t.value) for t in study.get_trials(deepcopy=False)]

    assert seen(bulk) == seen(plain)
    assert bulk.best_trial.number == plain.best_trial.number == 2
    assert bulk.get_trials(deepcopy=False)[0] is added[0]  # kept as given, not copied

    trial = bulk.ask({"x": FloatDistribution(-5, 5)})
    assert trial.number == 4  # numbering continues after the restored trials
    bulk.tell(trial, 0.0)
    assert bulk.best_trial.number == 4
