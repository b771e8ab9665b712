"""Ready-to-run example objectives on datasets bundled with scikit-learn (used by ``configs/``)."""

from __future__ import annotations

__all__ = ["breast_cancer", "diabetes", "digits", "multi_objective"]
