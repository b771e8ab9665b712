"""Train/validation splits of scikit-learn's bundled datasets, built once per worker process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import ParamSpec, TypeVar

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = ["Split", "breast_cancer_split", "diabetes_split", "digits_split", "single_threaded"]

P = ParamSpec("P")
R = TypeVar("R")

# A fixed split seed: every trial of a sweep must be scored on the same validation rows.
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Features and targets of a holdout split; `feature_names` label the columns."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    feature_names: tuple[str, ...]


def _split(X: np.ndarray, y: np.ndarray, names: tuple[str, ...], *, stratify: bool, scale: bool) -> Split:
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, random_state=SPLIT_SEED, stratify=y if stratify else None
    )
    if scale:
        # Fit the scaler on the training rows only, so validation scores stay honest.
        scaler = StandardScaler().fit(X_train)
        X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    return Split(
        np.ascontiguousarray(X_train, dtype=np.float64),
        np.ascontiguousarray(y_train),
        np.ascontiguousarray(X_val, dtype=np.float64),
        np.ascontiguousarray(y_val),
        names,
    )


@cache
def digits_split() -> Split:
    """8x8 handwritten digits (1,797 images, 10 classes), standardised."""
    data = load_digits()
    return _split(data.data, data.target, tuple(f"pixel_{i}" for i in range(64)), stratify=True, scale=True)


@cache
def breast_cancer_split() -> Split:
    """Wisconsin breast cancer (569 rows, 30 features, binary); trees need no scaling."""
    data = load_breast_cancer()
    return _split(data.data, data.target, tuple(str(n) for n in data.feature_names), stratify=True, scale=False)


@cache
def diabetes_split() -> Split:
    """Diabetes progression (442 rows, 10 features, regression), standardised."""
    data = load_diabetes()
    return _split(data.data, data.target, tuple(str(n) for n in data.feature_names), stratify=False, scale=True)


def single_threaded(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with BLAS/OpenMP limited to one thread.

    A trial holds one CPU and several trials run side by side; on arrays this small, BLAS
    threads competing for the same cores made epochs 3-5x slower, not faster.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1):
            return fn(*args, **kwargs)

    return wrapper
