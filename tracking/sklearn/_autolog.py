"""`autolog()`: every scikit-learn ``fit`` logs its params, training metrics, tags and fitted model."""

from __future__ import annotations

import functools
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tracking import fluent
from tracking.fluent import FluentRun, RunTarget
from tracking.fluent import _deferred as deferred
from tracking.models import Signature, infer_spec
from tracking.sklearn._metrics import Training, fit_inputs, input_example, training
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
    if not session.logged_before:
        session.attempt("params and tags", lambda: _log_before(session, estimator))
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
    measured: list[Training] = []
    session.attempt("training metrics", lambda: measured.append(_log_metrics(session, estimator, x, y, weight)))
    if is_search(estimator):
        session.attempt(
            "search results", lambda: log_search(session.target, session.host, estimator, config.max_tuning_runs)
        )
    if config.log_models and callable(getattr(estimator, "predict", None)):
        example = input_example(x) if config.log_input_examples else None
        predicted = measured[0].predicted if measured else None
        session.attempt("model", lambda: _log_model(session, estimator, example, _signature(example, predicted)))


def _log_model(session: _Session, estimator: object, example: object | None, signature: Signature | None) -> None:
    """Log the fitted model: in the user's run from a snapshot, in the background; elsewhere now."""
    target = session.target
    snapshot = _snapshot(estimator) if session.in_users_run else None
    if snapshot is None:
        target.log_model(estimator, "model", input_example=example, signature=signature)
        return
    # The bytes are the model as this fit left it: the user may refit or change it at once.
    # Writing them (the files, the payload hash tag) is what the run's end waits for.
    session.write(
        "model", lambda: target.log_model(pickle.loads(snapshot), "model", input_example=example, signature=signature)
    )


def _snapshot(estimator: object) -> bytes | None:
    """``estimator`` pickled (C pickle: a fraction of a millisecond for a small forest); None if it cannot be."""
    try:
        return pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a lambda inside, say: log_model's own serializers (cloudpickle) get it, now
        return None


def _estimator_tags(estimator: object) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__qualname__}"}


def _log_before(session: _Session, estimator: object) -> None:
    """The tags and params, taken before the fit; in the user's run written in the background."""
    target, tags, params = session.target, _estimator_tags(estimator), estimator_params(estimator)

    def write() -> None:
        target.set_tags(tags)
        target.log_params(params)

    session.write("params and tags", write)


def _log_metrics(session: _Session, estimator: object, x: object, y: object, weight: object) -> Training:
    found = training(estimator, x, y, weight)
    if not found.metrics:
        return found
    target, metrics = session.target, found.metrics
    if session.own is not None:
        # Nothing but this fit writes to a run of its own: step 0 (MLflow's step for these) meets
        # no other point, and no steps need reserving in the store.
        target.log_metrics(metrics, step=0)
        return found
    # The next free steps, so a second fit's values are not dropped as repeats of step 0. In the
    # user's run the store reserves those in a write of its own: that goes in the background.
    session.write("training metrics", lambda: target.log_metrics(metrics))
    return found


def _signature(example: object | None, predicted: np.ndarray | None) -> Signature | None:
    """The signature from the example and the training predictions' first rows (None: `log_model` infers it).

    What ``predict(example)`` would give, without calling it: ``example`` is the first rows of
    the training ``X``, and scikit-learn predicts row by row; a signature records only the
    outputs' dtype and shape past the batch axis.
    """
    if example is None or predicted is None or predicted.ndim == 0:
        return None
    return Signature(infer_spec(example), infer_spec(predicted[: len(example)]))  # type: ignore[arg-type]


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
        self.later: list[tuple[Callable[[], None], Callable[[Exception], str | None]]] = []  # background writes
        # A run the user started through the fluent layer: its end waits for background writes.
        self.in_users_run = own is None and host is not None
        self.logged_before = False  # params and tags already in (a run of its own starts with them)

    @classmethod
    def open(cls, estimator: object, config: AutologConfig) -> _Session | None:
        what = f"{type(estimator).__qualname__}.fit"
        active = fluent.active_run()
        if active is not None:
            return cls(active.target, active if active.owned else None, None, config, what)
        params: dict[str, str] | None = None
        try:
            params = estimator_params(estimator)
        except Exception as exc:  # an estimator whose get_params fails still gets its run
            _warn(config, f"could not log the params of {what}", exc)
        try:
            # Tags and params go in with the run: one write instead of three.
            own = fluent.start_run(tags={"autologged": "true", **_estimator_tags(estimator)}, params=params)
        except Exception as exc:  # no run (store down): the fit still runs
            _warn(config, f"could not start a run for {what}", exc)
            return None
        session = cls(own.target, own, own, config, what)
        session.logged_before = True
        return session

    def attempt(self, part: str, log: Callable[[], object]) -> None:
        try:
            log()
        except Exception as exc:  # logging must never break the user's fit
            _warn(self.config, f"could not log the {part} of {self.what}", exc)

    def write(self, part: str, work: Callable[[], None]) -> None:
        """Write ``part`` now, or in the user's run in the background (its end waits for it and warns
        if it failed). A sweep trial writes now: its steps are its own, and it is not thread-safe."""
        if not self.in_users_run:
            work()
            return
        config, what = self.config, self.what

        def describe(exc: Exception) -> str | None:
            return None if config.silent else _message(f"could not log the {part} of {what}", exc)

        self.later.append((work, describe))

    def close(self, error: BaseException | None) -> None:
        # Queued after all the logging on this thread, which they would otherwise compete with.
        for work, describe in self.later:
            deferred.defer(self.target.run_id, work, describe)
        self.later.clear()
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
        warnings.warn(_message(message, exc), stacklevel=4)


def _message(message: str, exc: Exception) -> str:
    return f"tracking.sklearn.autolog: {message} ({type(exc).__name__}: {exc}); the fit itself is unaffected"
