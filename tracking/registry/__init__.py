"""The model registry: named models with numbered versions, aliases, stages and an audit log."""

from __future__ import annotations

from tracking.registry._promote import GOALS, Scorer
from tracking.registry._registry import ModelRegistry, check_alias, check_model_name
from tracking.registry.entities import (
    CHALLENGER,
    CHAMPION,
    SHA256_TAG,
    AuditEntry,
    ModelVersion,
    PromotionDecision,
    RegisteredModel,
    Stage,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "GOALS",
    "SHA256_TAG",
    "AuditEntry",
    "ModelRegistry",
    "ModelVersion",
    "PromotionDecision",
    "RegisteredModel",
    "Scorer",
    "Stage",
    "check_alias",
    "check_model_name",
]
