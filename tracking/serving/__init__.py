"""Model serving: MLflow's scoring protocol over a model URI, following an alias as it moves,
and batch scoring of files in chunks."""

from __future__ import annotations

from tracking.serving._app import DEFAULT_MAX_BODY, build_scoring_app
from tracking.serving._batch import BatchResult, predict_file
from tracking.serving._config import FACTORY, ServeConfig, app_factory, open_follower, show_swaps
from tracking.serving._errors import BodyTooLarge, PredictionFailed, ScoringInputError, UnsupportedContentType
from tracking.serving._follower import LoadFailure, ModelFollower, ServedModel
from tracking.serving._input import JSON_FORMATS, parse_body

__all__ = [
    "DEFAULT_MAX_BODY",
    "FACTORY",
    "JSON_FORMATS",
    "BatchResult",
    "BodyTooLarge",
    "LoadFailure",
    "ModelFollower",
    "PredictionFailed",
    "ScoringInputError",
    "ServeConfig",
    "ServedModel",
    "UnsupportedContentType",
    "app_factory",
    "build_scoring_app",
    "open_follower",
    "parse_body",
    "predict_file",
    "show_swaps",
]
