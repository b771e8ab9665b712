"""Breast cancer classification with gradient boosting or a random forest, scored on a holdout split."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

from sweeps.examples._data import Split, breast_cancer_split, single_threaded

if TYPE_CHECKING:
    from sweeps import Trial

__all__ = ["train_forest", "train_gb"]


@single_threaded
def train_gb(trial: Trial) -> float:
    """Gradient-boosted trees; logs val curves per boosting stage and returns val_roc_auc.

    Params: n_estimators, learning_rate, max_depth, subsample, min_samples_leaf, max_features, seed.
    """
    p = trial.params
    data = breast_cancer_split()
    model = GradientBoostingClassifier(
        n_estimators=int(p.get("n_estimators", 100)),
        learning_rate=float(p.get("learning_rate", 0.1)),
        max_depth=int(p.get("max_depth", 3)),
        subsample=float(p.get("subsample", 1.0)),
        min_samples_leaf=int(p.get("min_samples_leaf", 1)),
        max_features=_max_features(p.get("max_features")),
        random_state=int(p.get("seed", 0)),
    )
    model.fit(data.X_train, data.y_train)
    # staged_predict_proba replays the fitted ensemble stage by stage: curves without refitting.
    # Plain numpy per stage: sklearn.metrics re-validates its inputs on every call.
    rows = np.arange(len(data.y_val))
    truth = np.searchsorted(model.classes_, data.y_val)
    for stage, proba in enumerate(model.staged_predict_proba(data.X_val)):
        trial.log_metrics(
            {
                "val_log_loss": float(-np.mean(np.log(np.clip(proba[rows, truth], 1e-15, 1.0)))),
                "val_accuracy": float(np.mean(proba.argmax(axis=1) == truth)),
            },
            step=stage,
        )
    return _finish(trial, model, data, "GradientBoostingClassifier")


@single_threaded
def train_forest(trial: Trial) -> float:
    """A random forest; returns val_roc_auc. Params: n_estimators, max_depth, max_features, min_samples_leaf, seed."""
    p = trial.params
    data = breast_cancer_split()
    depth = p.get("max_depth")
    model = RandomForestClassifier(
        n_estimators=int(p.get("n_estimators", 100)),
        max_depth=None if depth in (None, 0) else int(depth),  # type: ignore[arg-type]
        max_features=_max_features(p.get("max_features", "sqrt")),
        min_samples_leaf=int(p.get("min_samples_leaf", 1)),
        random_state=int(p.get("seed", 0)),
        n_jobs=1,  # one trial holds one CPU; Ray runs several trials side by side
    )
    model.fit(data.X_train, data.y_train)
    trial.log_metrics({"val_accuracy": float(accuracy_score(data.y_val, model.predict(data.X_val)))}, step=0)
    return _finish(trial, model, data, "RandomForestClassifier")


def _max_features(value: object) -> str | float | None:
    # YAML gives "sqrt"/"log2", a fraction, or null (all features); "all" reads better than null.
    if value is None or value == "all":
        return None
    if isinstance(value, str):
        return value
    return float(value)  # type: ignore[arg-type]


def _finish(trial: Trial, model: GradientBoostingClassifier | RandomForestClassifier, data: Split, kind: str) -> float:
    proba = model.predict_proba(data.X_val)[:, 1]
    auc = float(roc_auc_score(data.y_val, proba))
    trial.log_metrics({"val_roc_auc": auc}, step=0)
    order = np.argsort(model.feature_importances_)[::-1]
    trial.log_dict(
        {
            "model": kind,
            "feature_importances": [
                {"feature": data.feature_names[i], "importance": float(model.feature_importances_[i])} for i in order
            ],
        },
        "feature_importances.json",
    )
    trial.log_model(model, input_example=data.X_val[:5])
    trial.set_tag("model", kind)
    trial.set_tag("top_feature", data.feature_names[order[0]])
    return auc
