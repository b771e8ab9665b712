"""Diabetes progression regression minimising val_rmse: boosted trees grown in chunks, or ElasticNet."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_squared_error, r2_score

from sweeps.examples._data import diabetes_split, single_threaded

if TYPE_CHECKING:
    from sweeps import Trial

__all__ = ["train_elasticnet", "train_gbr"]

# Trees are added CHUNK at a time (warm start), so the pruner can stop a poor trial early.
CHUNK = 10


@single_threaded
def train_gbr(trial: Trial) -> float:
    """Gradient-boosted regression trees; returns the last val_rmse.

    val_rmse is logged and reported every CHUNK trees: step k is the model with (k + 1) * CHUNK trees.
    Params: n_estimators, learning_rate, max_depth, subsample, min_samples_leaf, loss, seed.
    """
    p = trial.params
    data = diabetes_split()
    total = int(p.get("n_estimators", 100))
    model = GradientBoostingRegressor(
        n_estimators=0,
        learning_rate=float(p.get("learning_rate", 0.1)),
        max_depth=int(p.get("max_depth", 3)),
        subsample=float(p.get("subsample", 1.0)),
        min_samples_leaf=int(p.get("min_samples_leaf", 1)),
        loss=str(p.get("loss", "squared_error")),
        random_state=int(p.get("seed", 0)),
        warm_start=True,
    )
    rmse = math.inf
    step = 0
    while model.n_estimators < total:
        model.n_estimators = min(total, model.n_estimators + CHUNK)
        model.fit(data.X_train, data.y_train)
        rmse = _rmse(data.y_val, model.predict(data.X_val))
        trial.log_metrics(
            {
                "train_rmse": _rmse(data.y_train, model.predict(data.X_train)),
                "val_rmse": rmse,
                "trees": float(model.n_estimators),
            },
            step=step,
        )
        trial.report(rmse, step=step)
        step += 1
    trial.log_metrics({"val_r2": float(r2_score(data.y_val, model.predict(data.X_val)))}, step=0)
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", "GradientBoostingRegressor")
    return rmse


@single_threaded
def train_elasticnet(trial: Trial) -> float:
    """A linear baseline; returns val_rmse. Params: alpha, l1_ratio."""
    p = trial.params
    data = diabetes_split()
    model = ElasticNet(alpha=float(p.get("alpha", 1.0)), l1_ratio=float(p.get("l1_ratio", 0.5)), max_iter=10_000)
    model.fit(data.X_train, data.y_train)
    rmse = _rmse(data.y_val, model.predict(data.X_val))
    trial.log_metrics({"val_rmse": rmse, "val_r2": float(r2_score(data.y_val, model.predict(data.X_val)))}, step=0)
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", "ElasticNet")
    return rmse


def _rmse(y_true: object, y_pred: object) -> float:
    return math.sqrt(float(mean_squared_error(y_true, y_pred)))
