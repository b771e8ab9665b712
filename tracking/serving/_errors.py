"""Refusals of a scoring request, each a `tracking.errors` class the app maps to one HTTP status."""

from __future__ import annotations

from tracking.errors import InvalidParameter, ModelError
from tracking.wire import BodyTooLarge

__all__ = ["BodyTooLarge", "PredictionFailed", "ScoringInputError", "UnsupportedContentType"]


class ScoringInputError(InvalidParameter):
    """A body that is not one of MLflow's scoring formats (HTTP 400)."""


class UnsupportedContentType(ScoringInputError):
    """A Content-Type other than JSON or CSV (HTTP 415)."""


class PredictionFailed(ModelError):
    """The model's own ``predict`` raised on input that fits the signature (HTTP 400: the input is at fault)."""
