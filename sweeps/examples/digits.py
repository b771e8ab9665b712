"""Digits classification trained epoch by epoch (SGD or a small MLP): step-wise metrics and pruning."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from sweeps.examples._data import digits_split, single_threaded

if TYPE_CHECKING:
    from sweeps import Trial

__all__ = ["train_mlp", "train_sgd"]

# Used when the config leaves `l1_ratio` out (it is conditional on penalty = elasticnet).
DEFAULT_L1_RATIO = 0.15


@single_threaded
def train_sgd(trial: Trial) -> float:
    """A linear classifier (SGD) trained one pass per epoch; returns the last val_accuracy.

    Params: alpha, penalty, l1_ratio (elasticnet only), epochs, and optionally loss,
    learning_rate, eta0, seed.
    """
    p = trial.params
    data = digits_split()
    classes = np.unique(data.y_train)
    seed = int(p.get("seed", 0))
    model = SGDClassifier(
        loss=str(p.get("loss", "hinge")),
        penalty=str(p.get("penalty", "l2")),
        alpha=float(p.get("alpha", 1e-4)),
        l1_ratio=float(p.get("l1_ratio", DEFAULT_L1_RATIO)),
        learning_rate=str(p.get("learning_rate", "optimal")),
        eta0=float(p.get("eta0", 0.01)),
        random_state=seed,
    )
    # partial_fit does not shuffle; a seeded permutation per epoch keeps runs reproducible.
    rng = np.random.default_rng(seed)
    acc = 0.0
    for epoch in range(int(p["epochs"])):
        order = rng.permutation(len(data.y_train))
        model.partial_fit(data.X_train[order], data.y_train[order], classes=classes)
        train_scores = model.decision_function(data.X_train)
        acc = _accuracy(data.y_val, classes[model.decision_function(data.X_val).argmax(axis=1)])
        trial.log_metrics(
            {
                "train_loss": _train_loss(model, train_scores, data.y_train, classes),
                "train_accuracy": _accuracy(data.y_train, classes[train_scores.argmax(axis=1)]),
                "val_accuracy": acc,
            },
            step=epoch,
        )
        trial.report(acc, step=epoch)
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", "SGDClassifier")
    return acc


# Metrics in plain numpy: sklearn.metrics re-validates its inputs on every call, which costs
# more than the epoch itself on data this small.
def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred))


def _train_loss(model: SGDClassifier, scores: np.ndarray, y: np.ndarray, classes: np.ndarray) -> float:
    """Log loss where the model gives probabilities, else the multiclass (Crammer-Singer) hinge loss."""
    index = np.searchsorted(classes, y)
    rows = np.arange(len(y))
    if model.loss == "log_loss":
        # SGD's one-vs-rest log loss: per-class sigmoids, normalised like predict_proba does.
        proba = expit(scores)
        proba /= proba.sum(axis=1, keepdims=True)
        return float(-np.mean(np.log(np.clip(proba[rows, index], 1e-15, 1.0))))
    true_score = scores[rows, index]
    others = scores.copy()
    others[rows, index] = -np.inf
    return float(np.mean(np.maximum(0.0, 1.0 - true_score + others.max(axis=1))))


@single_threaded
def train_mlp(trial: Trial) -> float:
    """A one- or two-layer perceptron trained one pass per epoch; returns the last val_accuracy.

    Params: hidden_units, layers, alpha, learning_rate_init, batch_size, epochs, seed.
    """
    p = trial.params
    data = digits_split()
    classes = np.unique(data.y_train)
    units = int(p.get("hidden_units", 64))
    model = MLPClassifier(
        hidden_layer_sizes=(units,) * int(p.get("layers", 1)),
        alpha=float(p.get("alpha", 1e-4)),
        learning_rate_init=float(p.get("learning_rate_init", 1e-3)),
        batch_size=int(p.get("batch_size", 64)),
        random_state=int(p.get("seed", 0)),
    )
    acc = 0.0
    for epoch in range(int(p["epochs"])):
        with warnings.catch_warnings():
            # One partial_fit is one epoch by design; "not converged" is expected here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(data.X_train, data.y_train, classes=classes)
        acc = _accuracy(data.y_val, model.predict(data.X_val))
        trial.log_metrics({"train_loss": float(model.loss_), "val_accuracy": acc}, step=epoch)
        trial.report(acc, step=epoch)
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", "MLPClassifier")
    return acc
