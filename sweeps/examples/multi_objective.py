"""Multi-objective digits: validation accuracy against fit time, returned as a dict of both."""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier

from sweeps.examples._data import digits_split, single_threaded

if TYPE_CHECKING:
    from sweeps import Trial

__all__ = ["accuracy_vs_time"]


@single_threaded
def accuracy_vs_time(trial: Trial) -> dict[str, float]:
    """An MLP whose size and training length trade accuracy for time; returns val_accuracy and fit_seconds.

    Params: hidden_units, layers, epochs, alpha, learning_rate_init, seed.
    """
    p = trial.params
    data = digits_split()
    units = int(p.get("hidden_units", 64))
    model = MLPClassifier(
        hidden_layer_sizes=(units,) * int(p.get("layers", 1)),
        alpha=float(p.get("alpha", 1e-4)),
        learning_rate_init=float(p.get("learning_rate_init", 1e-3)),
        max_iter=int(p.get("epochs", 50)),
        random_state=int(p.get("seed", 0)),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Short training is part of the trade-off being searched, so "not converged" is expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X_train, data.y_train)
    fit_seconds = time.perf_counter() - start
    acc = float(accuracy_score(data.y_val, model.predict(data.X_val)))
    # loss_curve_ is the per-epoch training loss sklearn kept during fit.
    for epoch, loss in enumerate(model.loss_curve_):
        trial.log_metrics({"train_loss": float(loss)}, step=epoch)
    trial.log_metrics({"val_accuracy": acc, "fit_seconds": fit_seconds, "parameters": float(_size(model))}, step=0)
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", "MLPClassifier")
    return {"val_accuracy": acc, "fit_seconds": fit_seconds}


def _size(model: MLPClassifier) -> int:
    return sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
