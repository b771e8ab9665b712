"""What an autologged fit measures on its training data: scikit-learn's usual metrics and ``score``.

The metrics are computed here with numpy from one ``predict`` (and one ``predict_proba``),
with scikit-learn's definitions: its metric functions validate their input on every call,
which would cost more than a small model's fit (tests pin the values to scikit-learn's).
Where ``predict`` is by its code the argmax of ``predict_proba`` (forests), one call serves both.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tracking.ranks import average_ranks

__all__ = ["Training", "fit_inputs", "input_example", "training", "training_metrics"]


def fit_inputs(
    original: Callable[..., object], estimator: object, args: tuple[object, ...], kwargs: dict[str, object]
) -> tuple[object, object, object]:
    """``X``, ``y`` and ``sample_weight`` of a fit call, by the fit's own signature."""
    try:
        arguments = inspect.signature(original).bind(estimator, *args, **kwargs).arguments
    except TypeError:
        arguments = {}
    x = arguments.get("X", args[0] if args else kwargs.get("X"))
    y = arguments.get("y", args[1] if len(args) > 1 else kwargs.get("y"))
    weight = arguments.get("sample_weight", kwargs.get("sample_weight"))
    return x, y, weight


@dataclass(frozen=True, slots=True)
class Training:
    """The ``training_*`` metrics, and ``predict(X)`` on the training data where they needed it."""

    metrics: dict[str, float]
    predicted: np.ndarray | None = None


def training_metrics(estimator: object, x: object, y: object, sample_weight: object) -> dict[str, float]:
    """``training_*`` metrics of a fitted estimator; a metric that does not apply is left out."""
    return training(estimator, x, y, sample_weight).metrics


def training(estimator: object, x: object, y: object, sample_weight: object) -> Training:
    """`training_metrics`, with the training predictions they were computed from."""
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    default_score = None
    predicted = None
    if y is not None and callable(getattr(estimator, "predict", None)):
        target = np.asarray(y)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if is_classifier(estimator) and target.ndim == 1:
            predicted = _classifier(estimator, x, target, weight, out)
            default_score = "training_accuracy_score"
        elif is_regressor(estimator):
            predicted = np.asarray(estimator.predict(x))  # type: ignore[attr-defined]
            out.update(_regressor(predicted, target, weight))
            default_score = "training_r2_score"
    if default_score in out and _scores_by_default(estimator):
        out["training_score"] = out[default_score]  # what score() would compute, without a second predict
        return Training(out, predicted)
    score = getattr(estimator, "score", None)
    if callable(score):
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        _put(out, "training_score", lambda: score(x, y, **extra) if y is not None else score(x))
    return Training(out, predicted)


def _scores_by_default(estimator: object) -> bool:
    """True when ``score`` is scikit-learn's default (accuracy or R²), directly or as a pipeline's last step."""
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        estimator = estimator._final_estimator
        if estimator in (None, "passthrough"):
            return False
    score = getattr(type(estimator), "score", None)
    return score is ClassifierMixin.score or score is RegressorMixin.score


def _predicts_by_argmax(estimator: object) -> bool:
    """True when ``predict`` is, by its code, ``classes_[argmax(predict_proba(X))]``: forests of one output.

    Checked on the method itself, not the class name: a subclass with its own ``predict``
    gets its own call (one overriding only ``predict_proba`` is still served exactly, since
    the forest's ``predict`` calls ``self.predict_proba``).
    """
    from sklearn.ensemble._forest import ForestClassifier

    return type(estimator).predict is ForestClassifier.predict and getattr(estimator, "n_outputs_", None) == 1


def _classifier(
    estimator: object, x: object, y: np.ndarray, weight: np.ndarray | None, out: dict[str, float]
) -> np.ndarray:
    """Put the classification metrics in ``out``; returns ``predict(x)``."""
    classes = getattr(estimator, "classes_", None)
    raw = None
    if callable(getattr(estimator, "predict_proba", None)) and classes is not None:
        raw = estimator.predict_proba(x)  # type: ignore[attr-defined]
    if raw is not None and _predicts_by_argmax(estimator):
        predicted = np.asarray(classes).take(np.argmax(raw, axis=1), axis=0)  # ForestClassifier.predict's own line
    else:
        predicted = np.asarray(estimator.predict(x))  # type: ignore[attr-defined]
    labels, codes = np.unique(np.concatenate([y, predicted]), return_inverse=True)
    k, n = len(labels), len(y)
    w = np.ones(n) if weight is None else weight
    matrix = np.bincount(codes[:n] * k + codes[n:], weights=w, minlength=k * k).reshape(k, k)
    hits, truth, called = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    support = truth / truth.sum()
    out["training_accuracy_score"] = float(hits.sum() / w.sum())
    # Weighted by support, a label never predicted (or never true) counting 0, as zero_division=0.
    out["training_precision_score"] = float(support @ _ratio(hits, called))
    out["training_recall_score"] = float(support @ _ratio(hits, truth))
    out["training_f1_score"] = float(support @ _ratio(2 * hits, truth + called))
    if raw is not None:
        out.update(_probabilistic(np.asarray(raw, dtype=float), np.asarray(classes), y, weight))
    return predicted


def _probabilistic(
    proba: np.ndarray, classes: np.ndarray, y: np.ndarray, weight: np.ndarray | None
) -> dict[str, float]:
    out: dict[str, float] = {}
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        return out
    index = np.searchsorted(classes, y)
    if (index >= len(classes)).any() or (classes[np.minimum(index, len(classes) - 1)] != y).any():
        return out  # a label the model never saw
    eps = np.finfo(proba.dtype).eps
    chosen = np.clip(proba, eps, 1 - eps)[np.arange(len(y)), index]
    out["training_log_loss"] = float(-np.average(np.log(chosen), weights=weight))
    if weight is None:  # the rank formula below is the unweighted AUC; weighted AUC is rare on training data
        # Binary: the AUC of the positive class's column; else one-vs-rest, the plain mean.
        columns = proba[:, 1:2] if len(classes) == 2 else proba
        positive = index[:, None] == (np.arange(1, 2) if len(classes) == 2 else np.arange(len(classes)))
        auc = _auc(positive, columns)
        if auc is not None:
            out["training_roc_auc"] = auc
    return out


def _auc(positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Mean ROC AUC of each column of ``scores`` against the same column of ``positive``, by
    ranks (Mann-Whitney U, ties counted half); None when a column has one side empty."""
    n_pos = positive.sum(axis=0)
    n_neg = len(positive) - n_pos
    if (n_pos == 0).any() or (n_neg == 0).any():
        return None
    ranks = average_ranks(scores)
    u = np.where(positive, ranks, 0.0).sum(axis=0) - n_pos * (n_pos + 1) / 2
    return float(np.mean(u / (n_pos * n_neg)))


def _regressor(predicted: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> dict[str, float]:
    if predicted.shape != y.shape:
        predicted = predicted.reshape(y.shape)
    y2 = y.reshape(len(y), -1).astype(float)
    p2 = predicted.reshape(len(y), -1).astype(float)
    error = y2 - p2
    mse = np.average(error**2, axis=0, weights=weight)
    mae = np.average(np.abs(error), axis=0, weights=weight)
    centre = np.average(y2, axis=0, weights=weight)
    total = np.average((y2 - centre) ** 2, axis=0, weights=weight)
    # Per output, then the plain mean over outputs ("uniform_average"); a constant target's
    # R² is 1 when predicted exactly, else 0 (scikit-learn's force_finite).
    r2 = np.where(total > 0, 1 - mse / np.where(total > 0, total, 1), np.where(mse == 0, 1.0, 0.0))
    return {
        "training_mean_squared_error": float(mse.mean()),
        "training_root_mean_squared_error": float(np.sqrt(mse).mean()),
        "training_mean_absolute_error": float(mae.mean()),
        "training_r2_score": float(r2.mean()),
    }


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.divide(top, bottom, out=np.zeros_like(top, dtype=float), where=bottom > 0)


def _put(out: dict[str, float], key: str, compute: Callable[[], object]) -> None:
    # A metric that does not apply (no y for this score, multi-output y) is skipped, not an error.
    try:
        value = float(compute())  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError, IndexError):
        return
    out[key] = value


def input_example(x: object, rows: int = 5) -> object | None:
    """A copy of the first ``rows`` rows of ``X`` (a frame stays a frame), or None for what has no rows to take.

    A copy, not a view: the model may be written after the user has changed ``X`` in place.
    """
    if x is None:
        return None
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(x):
        return None  # an example must be plain data; signatures do not describe sparse input
    if hasattr(x, "iloc"):
        return x.iloc[:rows].copy()  # type: ignore[attr-defined]
    if type(x).__module__.startswith("polars"):
        return x.head(rows)  # type: ignore[attr-defined]  # polars frames are immutable
    array = np.asarray(x)
    return np.array(array[:rows]) if array.ndim >= 1 else None
