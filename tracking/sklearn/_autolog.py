"""`autolog()`: every scikit-learn ``fit`` logs its params, training metrics, tags and fitted model."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from tracking import fluent
from tracking.fluent import FluentRun, RunTarget
from tracking.sklearn._metrics import fit_inputs, input_example, training_metrics
from tracking.sklearn._params import estimator_params
from tracking.sklearn._patch import patch, unpatch
from tracking.sklearn._search import is_search, log_search

__all__ = ["AutologConfig", "autolog"]


@dataclass(frozen=True, slots=True)
class AutologConfig:
    log_models: bool = True
    log_input_examples: bool = True
    max_tuning_runs: int | None = 5
    silent: bool = False


def autolog(
    *,
    log_models: bool = True,
    log_input_examples: bool = True,
    max_tuning_runs: int | None = 5,
    disable: bool = False,
    silent: bool = False,
) -> None:
    """Log every scikit-learn ``fit`` (estimators, pipelines, searches) to the active run.

    Logged: ``get_params(deep=True)``, ``training_*`` metrics and ``training_score``, the
    tags ``estimator_name`` / ``estimator_class``, and (``log_models``) the fitted model with
    an input example and the signature inferred from it. A search also logs ``best_*`` params,
    ``best_cv_score``, ``cv_results.csv`` and its ``max_tuning_runs`` best candidates as child
    runs (None: all). Only the outermost fit logs: a pipeline's steps and a search's inner
    fits do not. Without an active run, each fit gets a run of its own. A logging failure
    is a warning (none with ``silent``); the fit itself always runs as without autolog.
    ``disable=True`` restores scikit-learn's own ``fit``.
    """
    unpatch()
    if disable:
        return
    config = AutologConfig(log_models, log_input_examples, max_tuning_runs, silent)
    patch(functools.partial(_logged_fit, config))


def _logged_fit(
    config: AutologConfig,
    original: Callable[..., object],
    estimator: object,
    args: tuple[object, ...],
    kwargs: dict[str, object],
) -> object:
    session = _Session.open(estimator, config)
    if session is None:
        return original(estimator, *args, **kwargs)
    session.attempt("params and tags", lambda: _log_before(session.target, estimator))
    try:
        result = original(estimator, *args, **kwargs)
    except BaseException as exc:
        session.close(exc)
        raise
    try:
        _log_after(session, config, original, estimator, args, kwargs)
    finally:  # a run of its own ends even when Ctrl-C lands while logging
        session.close(None)
    return result


def _log_after(
    session: _Session,
    config: AutologConfig,
    original: Callable[..., object],
    estimator: object,
    args: tuple[object, ...],
    kwargs: dict[str, object],
) -> None:
    x, y, weight = fit_inputs(original, estimator, args, kwargs)
    session.attempt("training metrics", lambda: _log_metrics(session.target, estimator, x, y, weight))
    if is_search(estimator):
        session.attempt(
            "search results", lambda: log_search(session.target, session.host, estimator, config.max_tuning_runs)
        )
    if config.log_models and callable(getattr(estimator, "predict", None)):
        example = input_example(x) if config.log_input_examples else None
        session.attempt("model", lambda: session.target.log_model(estimator, "model", input_example=example))


def _log_before(target: RunTarget, estimator: object) -> None:
    cls = type(estimator)
    target.set_tags({"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__qualname__}"})
    target.log_params(estimator_params(estimator))


def _log_metrics(target: RunTarget, estimator: object, x: object, y: object, weight: object) -> None:
    found = training_metrics(estimator, x, y, weight)
    if found:
        target.log_metrics(found)


class _Session:
    """Where one fit logs: the active run, or a run started for this fit alone (``own``)."""

    def __init__(
        self, target: RunTarget, host: FluentRun | None, own: FluentRun | None, config: AutologConfig, what: str
    ) -> None:
        self.target = target
        self.host = host  # the run that can hold child runs (None inside a sweep trial)
        self.own = own
        self.config = config
        self.what = what

    @classmethod
    def open(cls, estimator: object, config: AutologConfig) -> _Session | None:
        what = f"{type(estimator).__qualname__}.fit"
        active = fluent.active_run()
        if active is not None:
            return cls(active.target, active if active.owned else None, None, config, what)
        try:
            own = fluent.start_run(tags={"autologged": "true"})
        except Exception as exc:  # no run (store down): the fit still runs
            _warn(config, f"could not start a run for {what}", exc)
            return None
        return cls(own.target, own, own, config, what)

    def attempt(self, part: str, log: Callable[[], object]) -> None:
        try:
            log()
        except Exception as exc:  # logging must never break the user's fit
            _warn(self.config, f"could not log the {part} of {self.what}", exc)

    def close(self, error: BaseException | None) -> None:
        if self.own is None:
            return
        try:
            if error is None:
                self.own.end()
            else:
                self.own.__exit__(type(error), error, error.__traceback__)
        except Exception as exc:  # as above: the fit is done, whatever the store says
            _warn(self.config, f"could not end the run of {self.what}", exc)


def _warn(config: AutologConfig, message: str, exc: Exception) -> None:
    if not config.silent:
        warnings.warn(
            f"tracking.sklearn.autolog: {message} ({type(exc).__name__}: {exc}); the fit itself is unaffected",
            stacklevel=4,
        )
