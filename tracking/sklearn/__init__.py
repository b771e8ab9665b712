"""scikit-learn in the fluent layer: `autolog()` for every ``fit``, `log_model` / `load_model` by hand."""

from __future__ import annotations

from tracking.sklearn._autolog import autolog
from tracking.sklearn._log_model import LoggedModel, load_model, log_model

__all__ = ["LoggedModel", "autolog", "load_model", "log_model"]
