"""Patching ``fit`` of scikit-learn's estimator classes; a guard lets only the outermost fit log."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar

__all__ = ["FitHook", "patch", "patched_classes", "unpatch"]

# (the original fit, the estimator, positional args, keyword args) -> what fit returns
FitHook = Callable[[Callable[..., object], object, tuple[object, ...], dict[str, object]], object]

_MARK = "__tracking_autolog_original__"
# True while an autologged fit runs in this thread / task: a pipeline's steps, a search's
# candidates and the metrics computed after fit all call fit or score again, and must not log.
_FITTING: ContextVar[bool] = ContextVar("tracking_sklearn_fitting", default=False)
_LOCK = threading.Lock()
# class -> its own fit before patching. Patching classes is process-wide by nature (as in
# MLflow); this map is what `unpatch` restores.
_ORIGINALS: dict[type, Callable[..., object]] = {}


def _estimator_classes() -> set[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    found = {cls for _, cls in all_estimators()} | {Pipeline, GridSearchCV, RandomizedSearchCV}
    owners = set()
    for cls in found:
        # Patch the class that defines the fit an estimator uses: subclasses that inherit it
        # (private bases such as BaseSGDClassifier included) are covered once.
        owner = next((k for k in cls.__mro__ if "fit" in vars(k)), None)
        if owner is not None:
            owners.add(owner)
    return owners


def patch(hook: FitHook) -> int:
    """Route every estimator class's ``fit`` through ``hook``; returns how many classes were patched."""
    with _LOCK:
        for owner in _estimator_classes():
            fit = vars(owner)["fit"]
            if owner in _ORIGINALS or getattr(fit, _MARK, None) is not None:
                continue
            _ORIGINALS[owner] = fit
            owner.fit = _wrapped(fit, hook)  # type: ignore[attr-defined]
        return len(_ORIGINALS)


def unpatch() -> None:
    """Give every patched class its own ``fit`` back."""
    with _LOCK:
        for owner, fit in _ORIGINALS.items():
            owner.fit = fit  # type: ignore[attr-defined]
        _ORIGINALS.clear()


def patched_classes() -> frozenset[type]:
    with _LOCK:
        return frozenset(_ORIGINALS)


def _wrapped(original: Callable[..., object], hook: FitHook) -> Callable[..., object]:
    @functools.wraps(original)  # keeps the signature, which scikit-learn's metadata routing reads
    def fit(self: object, *args: object, **kwargs: object) -> object:
        if _FITTING.get():
            return original(self, *args, **kwargs)
        token = _FITTING.set(True)
        try:
            return hook(original, self, args, kwargs)
        finally:
            _FITTING.reset(token)

    setattr(fit, _MARK, original)
    return fit
