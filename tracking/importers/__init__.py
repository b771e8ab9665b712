"""Bringing another tracker's history into a Sweeps store: `import_mlflow` (``sweeps import mlflow``)."""

from __future__ import annotations

from tracking.importers.mlflow_import import ImportSummary, import_mlflow

__all__ = ["ImportSummary", "import_mlflow"]
