"""A finished hyperparameter search: best params and score, ``cv_results_`` as a table, candidates as child runs."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from tracking.fluent import FluentRun, RunTarget
from tracking.sklearn._params import param_texts

__all__ = ["is_search", "log_search"]

_CANDIDATE_METRICS = ("mean_", "std_", "rank_", "split")


def is_search(estimator: object) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def log_search(target: RunTarget, host: FluentRun | None, search: object, max_runs: int | None) -> None:
    """Log ``search``'s outcome to ``target``; its best ``max_runs`` candidates as children of ``host``.

    ``host`` is None where no child run can be made (a sweep trial's worker holds no store);
    the ``cv_results.csv`` table still holds every candidate.
    """
    import pandas as pd

    best = getattr(search, "best_params_", None)
    if isinstance(best, Mapping):
        target.log_params(param_texts({f"best_{k}": v for k, v in best.items()}))
    best_score = getattr(search, "best_score_", None)
    if isinstance(best_score, int | float) and math.isfinite(best_score):
        target.log_metrics({"best_cv_score": float(best_score)})
    results: dict[str, object] = search.cv_results_  # type: ignore[attr-defined]
    target.log_table(pd.DataFrame(results), "cv_results.csv")
    if host is None or host.handle is None or max_runs == 0:
        return
    _log_candidates(host, results, _rank_key(search, results), max_runs)


def _rank_key(search: object, results: Mapping[str, object]) -> str:
    refit = getattr(search, "refit", True)
    key = f"rank_test_{refit}" if isinstance(refit, str) else "rank_test_score"
    return key if key in results else next(k for k in results if k.startswith("rank_test_"))


def _log_candidates(host: FluentRun, results: Mapping[str, object], rank_key: str, max_runs: int | None) -> None:
    assert host.handle is not None and host.client is not None
    client = host.client
    experiment = client.get_experiment(host.handle.experiment_id).name
    order = np.argsort(np.asarray(results[rank_key]), kind="stable")
    chosen = order if max_runs is None else order[:max_runs]
    numeric = [k for k, v in results.items() if k.startswith(_CANDIDATE_METRICS) and np.asarray(v).dtype.kind in "iuf"]
    for index in chosen:
        i = int(index)
        params = results["params"][i]  # type: ignore[index]
        with client.start_run(
            experiment,
            f"{host.handle.name}-candidate-{i}",
            parent=host.run_id,
            params=param_texts(params),
            tags={"candidate_index": i},
        ) as child:
            child.log_metrics({k: float(np.asarray(results[k])[i]) for k in numeric}, step=0)
